using LivePatchAgent.Daemon.Hosting;

namespace LivePatchAgent.Integration.Tests;

/// <summary>What transition supervision finds, as D-Bus and systemd report it: stalls and forced patches.</summary>
public sealed class DBusSupervisionTests : IAsyncLifetime
{
    private const string BootId = "3f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f";
    private readonly SysfsFixture _fixture = SysfsFixture.Create();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "lpv-" + Guid.NewGuid().ToString("N")[..10]);
    private DBusTestBus _bus = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "state"));
        _bus = await DBusTestBus.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _bus.DisposeAsync();
        _fixture.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_stall_sends_TransitionStalled_and_shows_in_State_and_in_STATUS()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        _fixture.AddPatch("lpdemo_v3", transition: true).Object("lpdemo_sleeper").Function("lpdemo_sleeper_wait");
        // One task still unpatched (patch_state 0) in a patching transition: it blocks.
        _fixture.AddTask(4242, 4242, "lpdemo-sleep", 0, ["[<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]"]);
        _fixture.AddTask(4300, 4300, "switched", 1, ["[<0>] do_nanosleep+0x1/0x2"]);
        using var notify = SystemdNotifySocket.AtPath(_directory);
        using var monitor = await _bus.MonitorAsync();

        await using var daemon = await DaemonHarness.StartAsync(
            _fixture,
            new DaemonHarnessOptions { DBusAddress = _bus.Address, Directory = _directory, Systemd = new SystemdEnvironment { NotifySocket = notify.Address } },
            "Transitions:StallAfter=00:00:01", "Transitions:ResolveAfter=00:10:00", "Transitions:OnStall=None");

        var stalled = await monitor.WaitForLineAsync(l => l.Contains("org.livepatchd.Agent1.TransitionStalled", StringComparison.Ordinal));
        var status = await notify.WaitForAsync(m => m.Status?.StartsWith("transition stalled: lpdemo_v3, 1 task, ", StringComparison.Ordinal) == true);

        Assert.Matches(@"TransitionStalled \('lpdemo_v3', uint32 1, [0-9.]+\)$", stalled);
        Assert.Contains("PatchStateChanged ('lpdemo_v3', 'stalled')", monitor.Transcript, StringComparison.Ordinal);
        Assert.Contains("'State': <'stalled'>", monitor.Transcript, StringComparison.Ordinal);
        Assert.Equal("s \"stalled\"", await _bus.GetPropertyAsync("State"));
        Assert.True(double.Parse((await _bus.GetPropertyAsync("TransitionSeconds"))[2..], System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.Matches(@"^transition stalled: lpdemo_v3, 1 task, \d+ s$", status.Status);
        // Sent once per stall, although the supervisor rescans.
        Assert.Single(monitor.Transcript.Split('\n'), l => l.Contains(".TransitionStalled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ForcedPatches_lists_the_pins_of_this_boot()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        await File.WriteAllTextAsync(Path.Combine(_directory, "state", "pins.json"), $$"""
            [
              { "module": "lpdemo_v1", "bootId": "{{BootId}}", "forcedAt": "2026-11-28T12:00:00+00:00", "forcedPatch": "lpdemo_v2", "caller": "uid 0", "reason": "patching transition", "blockingSummary": "" },
              { "module": "lpdemo_old", "bootId": "{{BootId}}", "forcedAt": "2026-11-28T12:00:00+00:00", "forcedPatch": "lpdemo_old", "caller": "uid 0", "reason": "unpatching transition", "blockingSummary": "" },
              { "module": "lpdemo_gone", "bootId": "00000000-0000-0000-0000-000000000000", "forcedAt": "2026-11-27T12:00:00+00:00", "forcedPatch": "lpdemo_gone", "caller": "uid 0", "reason": "an earlier boot", "blockingSummary": "" }
            ]
            """);

        await using var daemon = await DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { DBusAddress = _bus.Address, Directory = _directory });
        await DaemonHarness.WaitForAsync(_bus.NameHasOwnerAsync, TimeSpan.FromSeconds(20));

        Assert.Equal("as 2 \"lpdemo_old\" \"lpdemo_v1\"", await _bus.GetPropertyAsync("ForcedPatches"));
    }
}

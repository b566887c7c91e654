namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// What the web console reads over D-Bus beyond the monitoring properties: the kernel's lockdown and signature
/// policy, every degraded reason, and the audit journal (GetHistory, for root only), on a private bus with our policy.
/// </summary>
public sealed class DBusWebConsoleTests : IAsyncLifetime
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "lpw-" + Guid.NewGuid().ToString("N")[..10]);
    private DBusTestBus _bus = null!;
    private DaemonHarness _daemon = null!;

    public async Task InitializeAsync()
    {
        _fixture.WithLockdown("none [integrity] confidentiality").WithSigEnforce(true);
        _fixture.AddPatch("lp_web", enabled: true).Object("vmlinux").Function("cmdline_proc_show");
        var journal = Path.Combine(_directory, "state", "journal");
        Directory.CreateDirectory(journal);
        var bootId = File.ReadAllText(Path.Combine(_fixture.Root, "proc/sys/kernel/random/boot_id")).Trim();
        File.WriteAllText(Path.Combine(journal, "journal.jsonl"),
            $$"""{"v":1,"seq":1,"time":"2026-11-28T12:00:00Z","event":"started","op":1,"operation":"load","patch":"lp_web","bootId":"{{bootId}}","uid":0,"pid":99,"comm":"lpctl","caller":"lpctl[99] uid 0"}""" + "\n"
            + """{"v":1,"seq":2,"time":"2026-11-28T12:00:01Z","event":"finished","op":1,"operation":"load","patch":"lp_web","outcome":"completed","message":"lp_web is enabled"}""" + "\n"
            + """{"v":1,"seq":3,"time":"2026-11-28T12:05:00Z","event":"started","op":3,"operation":"unload","patch":"lp_gone","uid":0,"pid":100,"comm":"lpctl","caller":"lpctl[100] uid 0"}""" + "\n"
            + """{"v":1,"seq":4,"time":"2026-11-28T12:05:00Z","event":"finished","op":3,"operation":"unload","patch":"lp_gone","outcome":"refused","reason":"patch-not-found","message":"patch \"lp_gone\" is not loaded"}""" + "\n");
        _bus = await DBusTestBus.StartAsync();
        _daemon = await DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { DBusAddress = _bus.Address, Directory = _directory }, "Apply:AtStartup=false");
        await DaemonHarness.WaitForAsync(_bus.NameHasOwnerAsync, TimeSpan.FromSeconds(20));
    }

    public async Task DisposeAsync()
    {
        await _daemon.DisposeAsync();
        await _bus.DisposeAsync();
        _fixture.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_kernel_policy_and_the_degraded_reasons_are_properties()
    {
        Assert.Equal("s \"integrity\"", await _bus.GetPropertyAsync("KernelLockdown"));
        Assert.Equal("s \"enforced\"", await _bus.GetPropertyAsync("SignatureEnforcement"));
        Assert.Equal("as 0", await _bus.GetPropertyAsync("DegradedReasons"));

        // sig_enforce going off (a rescan sees it) is announced like every other property.
        using var monitor = await _bus.MonitorAsync();
        _fixture.WithSigEnforce(false);
        _fixture.SetEnabled("lp_web", false);
        var changed = await monitor.WaitForLineAsync(l => l.Contains("'SignatureEnforcement': <'off'>", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        Assert.Contains("PropertiesChanged", changed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetHistory_gives_root_the_journal_newest_first_and_refuses_other_users()
    {
        var root = await _bus.BusctlAsync("--json=short", "call", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "GetHistory", "u", "10");
        var nobody = await ToolProcess.RunAsNobodyAsync("busctl", "--address=" + _bus.Address, "call", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "GetHistory", "u", "10");
        var tooMany = await _bus.BusctlAsync("call", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "GetHistory", "u", "10001");

        Assert.True(root.ExitCode == 0, root.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(root.Out);
        Assert.Equal("a(tssssss)", json.RootElement.GetProperty("type").GetString());
        var rows = json.RootElement.GetProperty("data")[0].EnumerateArray().Select(r => r.EnumerateArray().ToArray()).ToArray();
        Assert.Equal(2, rows.Length);
        Assert.Equal(["unload", "lp_gone", "refused", "patch-not-found", "patch \"lp_gone\" is not loaded", "lpctl[100] uid 0"],
            rows[0][1..].Select(v => v.GetString()));
        Assert.Equal(["load", "lp_web", "completed", string.Empty, "lp_web is enabled", "lpctl[99] uid 0"], rows[1][1..].Select(v => v.GetString()));
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1000, rows[1][0].GetInt64());

        Assert.NotEqual(0, nobody.ExitCode);
        Assert.Contains("Access denied", nobody.Error, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual(0, tooMany.ExitCode);
        Assert.Contains("limit 10001 is out of range", tooMany.Error, StringComparison.Ordinal);
    }
}

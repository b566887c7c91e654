namespace LivePatchAgent.Integration.Tests;

/// <summary>The posture on D-Bus: OpenCveCount and HighestOpenSeverity follow a feed file, with PropertiesChanged.</summary>
public sealed class DBusPostureTests : IAsyncLifetime
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create();
    private readonly OsvFixture _feeds = OsvFixture.Create();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "lpp-" + Guid.NewGuid().ToString("N")[..10]);
    private DBusTestBus _bus = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "state"));
        _fixture.Write("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
        _bus = await DBusTestBus.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _bus.DisposeAsync();
        _fixture.Dispose();
        _feeds.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_feed_file_sets_OpenCveCount_and_HighestOpenSeverity_with_PropertiesChanged()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { DBusAddress = _bus.Address, Directory = _directory },
            "Apply:AtStartup=false", $"Posture:AdvisoriesDir={_feeds.Directory}");
        await DaemonHarness.WaitForAsync(_bus.NameHasOwnerAsync, TimeSpan.FromSeconds(20));
        using var monitor = await _bus.MonitorAsync();
        var before = await _bus.GetPropertyAsync("OpenCveCount");

        _feeds.Write(new OsvRecord("CVE-2026-0100")
            .Summary("linux: a critical flaw")
            .Severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
            .Affects("Debian:12", "linux", e => e.Range().Introduced("0").Fixed("6.1.194-1")), "kernel.json");
        var changed = await monitor.WaitForLineAsync(l => l.Contains("'OpenCveCount': <uint32 1>", StringComparison.Ordinal), TimeSpan.FromSeconds(20));

        Assert.Equal("u 0", before);
        Assert.Contains("'HighestOpenSeverity': <'critical'>", changed, StringComparison.Ordinal);
        Assert.Equal("u 1", await _bus.GetPropertyAsync("OpenCveCount"));
        Assert.Equal("s \"critical\"", await _bus.GetPropertyAsync("HighestOpenSeverity"));
        Assert.Equal("s \"6.1.192-2\"", await _bus.GetPropertyAsync("EffectiveKernelVersion"));
        Assert.Equal("u 0", await _bus.GetPropertyAsync("FixedLiveCveCount"));
    }
}

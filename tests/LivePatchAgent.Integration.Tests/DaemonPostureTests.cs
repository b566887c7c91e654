using System.Text.Json;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The CVE posture through the real daemon and lpctl: OSV files dropped into and removed from the advisory
/// directory while the daemon runs, a hostile file, an installed and a loaded patch that declare the CVE, and
/// lpctl cves, status, check and uname.
/// </summary>
public sealed class DaemonPostureTests : SimulatedHostTests
{
    private readonly OsvFixture _feeds = OsvFixture.Create();

    public DaemonPostureTests()
        : base("posture-")
    {
        // The fixture kernel says "Debian 6.1.192-2" in /proc/sys/kernel/version.
        Fixture.Write("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _feeds.Dispose();
        }

        base.Dispose(disposing);
    }

    private Task<DaemonHarness> StartWithFeedsAsync(params string[] settings) =>
        StartAsync(["Apply:AtStartup=false", $"Posture:AdvisoriesDir={_feeds.Directory}", .. settings]);

    private static OsvRecord KernelAdvisory(string cve, string fixedIn, string severity = "high") =>
        new OsvRecord(cve)
            .Summary($"linux: a flaw fixed in {fixedIn}")
            .DatabaseSpecific("urgency", severity)
            .Affects("Debian:12", "linux", e => e.Range().Introduced("0").Fixed(fixedIn));

    private static async Task<Posture> PostureWhenAsync(DaemonHarness daemon, Func<Posture, bool> condition)
    {
        Posture? last = null;
        await DaemonHarness.WaitForAsync(async () => condition(last = await daemon.Client.GetPostureAsync(new GetPostureRequest())), TimeSpan.FromSeconds(20));
        return last!;
    }

    [Fact]
    public async Task A_feed_dropped_while_running_opens_a_CVE_with_an_event_and_its_removal_closes_it()
    {
        await using var daemon = await StartWithFeedsAsync();
        var before = await PostureWhenAsync(daemon, p => p.Available);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var events = daemon.Client.WatchEvents(new WatchEventsRequest(), cancellationToken: cts.Token);

        var file = _feeds.Write(KernelAdvisory("CVE-2026-0001", "6.1.194-1"), "debian-kernel.json");
        var open = await PostureWhenAsync(daemon, p => p.Open == 1);
        string? message = null;
        while (await events.ResponseStream.MoveNext(cts.Token))
        {
            if (events.ResponseStream.Current.Kind == EventKind.PostureChanged)
            {
                message = events.ResponseStream.Current.Message;
                break;
            }
        }

        var status = await Lpctl(daemon, "status");
        var check = await Lpctl(daemon, "check");
        var cves = await Lpctl(daemon, "-o", "json", "cves");
        File.Delete(file);
        var closed = await PostureWhenAsync(daemon, p => p.Open == 0 && p.AdvisoryCount == 0);

        Assert.Equal(0u, before.Open);
        Assert.Equal("Debian:12", open.Ecosystem);
        Assert.Equal("linux", open.Package);
        Assert.Equal("6.1.192-2", open.RunningVersion);
        Assert.Equal(Severity.High, open.HighestOpenSeverity);
        Assert.Equal("6.1.194-1", open.RebootTarget);
        var advisory = Assert.Single(open.Advisories);
        Assert.Equal(CveState.Open, advisory.State);
        Assert.Equal(["CVE-2026-0001"], advisory.CveIds);
        Assert.NotNull(message);
        Assert.Contains("1 open", message, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^CVEs: +0 fixed live, 1 open \(1 high\): reboot into >= 6\.1\.194-1 closes them$", status.Out);
        // Check:FailOnSeverity is high by default: an open high CVE is critical for monitoring.
        Assert.True(check.ExitCode == 2, check.ToString());
        Assert.StartsWith("LIVEPATCH CRITICAL - 1 open CVE advisory(ies) at or above high", check.Out, StringComparison.Ordinal);
        using (var document = JsonDocument.Parse(cves.Out))
        {
            var row = document.RootElement.GetProperty("advisories")[0];
            Assert.Equal("open", row.GetProperty("state").GetString());
            Assert.Equal("high", row.GetProperty("severity").GetString());
            Assert.Equal("6.1.194-1", row.GetProperty("fixedVersion").GetString());
        }

        Assert.Empty(closed.Advisories);
    }

    [Fact]
    public async Task A_hostile_feed_file_is_skipped_with_a_problem_naming_it_and_the_others_still_count()
    {
        _feeds.Write(KernelAdvisory("CVE-2026-0002", "6.1.194-1", "critical"), "good.json");
        _feeds.Write("broken.json", "{\"id\": \"CVE-2026-0003\", \"modified\": [");
        _feeds.Write("huge.json", new byte[4096]);
        await using var daemon = await StartWithFeedsAsync("Posture:MaxFileBytes=2048");

        var posture = await PostureWhenAsync(daemon, p => p.Open == 1);
        var status = await Lpctl(daemon, "status");
        var cves = await Lpctl(daemon, "cves");

        Assert.Equal(Severity.Critical, posture.HighestOpenSeverity);
        Assert.Equal(2, posture.Problems.Count);
        Assert.Contains(posture.Problems, p => p.Path == _feeds.PathOf("broken.json"));
        Assert.Contains(posture.Problems, p => p.Path == _feeds.PathOf("huge.json") && p.Message.Contains("over the limit of 2,048", StringComparison.Ordinal));
        Assert.Contains(_feeds.PathOf("broken.json") + ": ", status.Out, StringComparison.Ordinal);
        Assert.Contains("2 feed file(s) skipped", status.Out, StringComparison.Ordinal);
        Assert.True(cves.ExitCode == 0, cves.ToString());
        Assert.Matches(@"(?m)^CVE-2026-0002 +CVE-2026-0002 +critical +open +reboot >= 6\.1\.194-1 +linux: a flaw", cves.Out);
        Assert.Equal(0, (await Lpctl(daemon, "status")).ExitCode);
    }

    [Fact]
    public async Task An_installed_patch_declaring_the_CVE_fixes_it_once_loaded_and_unloading_opens_it_again()
    {
        _feeds.Write(KernelAdvisory("CVE-2026-0004", "6.1.194-1"), "kernel.json");
        await using var daemon = await StartWithFeedsAsync();
        await PostureWhenAsync(daemon, p => p.Open == 1);
        var meta = Path.Combine(Files.FullName, "meta.json");
        File.WriteAllText(meta, """{"description": "the fix", "cveIds": ["CVE-2026-0004"]}""");
        var image = new ModuleImage().With("name", "lp_fix");
        image.StructModuleName = "lp_fix";
        var module = Write("lp_fix.ko", TestSigningKey.Trusted.Sign(image.Build()));

        Assert.Equal(0, (await Lpctl(daemon, "install", module, "--meta", meta)).ExitCode);
        var installed = await PostureWhenAsync(daemon, p => p.FixedInstalled == 1);
        var installedCves = await Lpctl(daemon, "cves", "--state", "fixed-installed");
        Assert.Equal(0, (await Lpctl(daemon, "apply")).ExitCode);
        var live = await PostureWhenAsync(daemon, p => p.FixedLive == 1);
        var liveCheck = await Lpctl(daemon, "check");
        Assert.Equal(0, (await Lpctl(daemon, "unload", "lp_fix")).ExitCode);
        var unloaded = await PostureWhenAsync(daemon, p => p.FixedLive == 0);

        Assert.Equal(0u, installed.Open);
        Assert.Equal(["lp_fix"], installed.Advisories[0].Patches);
        Assert.Matches(@"(?m)^CVE-2026-0004 .* fixed-installed +lp_fix", installedCves.Out);
        Assert.Equal(CveState.FixedLive, live.Advisories[0].State);
        Assert.True(liveCheck.ExitCode == 0, liveCheck.ToString());
        // Unloaded but still installed: one lpctl apply away.
        Assert.Equal(CveState.FixedInstalled, unloaded.Advisories[0].State);
    }

    [Fact]
    public async Task A_loaded_patch_with_signed_metadata_fixes_by_id_and_level_and_uname_shows_the_level()
    {
        _feeds.WriteArray("kernel.json",
            KernelAdvisory("CVE-2026-0010", "6.1.194-1"),
            KernelAdvisory("CVE-2026-0011", "6.1.193-1", "medium"),
            KernelAdvisory("CVE-2026-0012", "6.1.200-1", "critical"));
        await using var daemon = await StartWithFeedsAsync();
        await PostureWhenAsync(daemon, p => p.Open == 3);
        var image = new ModuleImage().With("name", "lp_cumulative")
            .With("livepatch_cve", "CVE-2026-0010")
            .With("livepatch_fixes_version", "6.1.194-1");
        image.StructModuleName = "lp_cumulative";
        var module = Write("lp_cumulative.ko", TestSigningKey.Trusted.Sign(image.Build()));

        var load = await Lpctl(daemon, "load", module);
        var posture = await PostureWhenAsync(daemon, p => p.FixedLive == 2);
        var uname = await Lpctl(daemon, "uname", "-v");
        var status = await Lpctl(daemon, "status");
        var critical = await Lpctl(daemon, "-o", "json", "cves", "--severity", "critical");

        Assert.True(load.ExitCode == 0, load.ToString());
        Assert.Equal("6.1.194-1", posture.EffectiveVersion);
        var byId = posture.Advisories.ToDictionary(a => a.Id);
        Assert.Equal(CveState.FixedLive, byId["CVE-2026-0010"].State);
        Assert.Equal("signed", byId["CVE-2026-0010"].MetadataSource);
        // Fixed in 6.1.193-1, below the level the patch carries: closed by the level, not by a declared id.
        Assert.Equal(CveState.FixedLive, byId["CVE-2026-0011"].State);
        Assert.Equal(CveState.Open, byId["CVE-2026-0012"].State);
        Assert.Equal("6.1.200-1", posture.RebootTarget);
        Assert.Equal("#1 SMP PREEMPT_DYNAMIC Debian 6.1.194-1 (2026-11-16)\n", uname.Out);
        Assert.Contains("effective kernel level 6.1.194-1 (running 6.1.192-2)", status.Out, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(critical.Out);
        Assert.Equal(["CVE-2026-0012"], document.RootElement.GetProperty("advisories").EnumerateArray().Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Without_an_advisory_directory_the_posture_says_why_and_check_stays_ok()
    {
        await using var daemon = await StartAsync("Apply:AtStartup=false", "Posture:AdvisoriesDir=/nonexistent/advisories");

        var posture = await PostureWhenAsync(daemon, p => p.UnavailableReason.Length > 0 && !p.UnavailableReason.StartsWith("not evaluated", StringComparison.Ordinal));
        var check = await Lpctl(daemon, "check");
        var uname = await Lpctl(daemon, "uname", "-v");

        Assert.False(posture.Available);
        Assert.Contains("/nonexistent/advisories does not exist", posture.UnavailableReason, StringComparison.Ordinal);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Equal("#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)\n", uname.Out);
    }
}

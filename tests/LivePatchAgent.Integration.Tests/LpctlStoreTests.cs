using System.Text.Json;

namespace LivePatchAgent.Integration.Tests;

/// <summary>lpctl install, uninstall, list --installed and apply as a process against the real daemon and a simulated kernel.</summary>
public sealed class LpctlStoreTests : SimulatedHostTests
{
    private const string EarlierBoot = "0c0ffee0-0000-4000-8000-000000000001";

    public LpctlStoreTests()
        : base("lpctl-store-")
    {
    }

    private string Module(string name)
    {
        var image = new ModuleImage().With("name", name);
        image.StructModuleName = name;
        var path = Path.Combine(Files.FullName, name + ".ko");
        File.WriteAllBytes(path, TestSigningKey.Trusted.Sign(image.Build()));
        return path;
    }

    [Fact]
    public async Task Install_list_and_uninstall_as_a_sysadmin_types_them()
    {
        await using var daemon = await StartAsync("Apply:AtStartup=false");
        var meta = Path.Combine(Files.FullName, "meta.json");
        File.WriteAllText(meta, """{"description": "cmdline fix", "cveIds": ["CVE-2026-1234", "CVE-2026-5678"], "cumulativeVersion": 7}""");

        var install = await Lpctl(daemon, "install", Module("lp_a"), "--meta", meta, "--replace");
        var now = await Lpctl(daemon, "-o", "json", "install", Module("lp_b"), "--now");
        var table = await Lpctl(daemon, "list", "--installed");
        var json = await Lpctl(daemon, "-o", "json", "list", "--installed", "--all-kernels");

        Assert.True(install.ExitCode == 0, install.ToString());
        Assert.Matches("(?m)^Installed: +lp_a for 6.1.0-56-amd64$", install.Out);
        Assert.Matches("(?m)^Replace: +yes \\(cumulative\\) \\(from install\\)$", install.Out);
        Assert.True(now.ExitCode == 0, now.ToString());
        using (var document = JsonDocument.Parse(now.Out))
        {
            Assert.True(document.RootElement.GetProperty("load").GetProperty("transitionCompleted").GetBoolean());
            Assert.True(document.RootElement.GetProperty("installed").GetProperty("loaded").GetBoolean());
        }

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Matches("(?m)^NAME +KERNEL +ORIGIN +LOADED +REPLACE +LEVEL +INSTALLED +SIGNER +METADATA +CVES$", table.Out);
        Assert.Matches("(?m)^lp_a +6\\.1\\.0-56-amd64 \\(running\\) +local +no +yes +7 .+ operator +CVE-2026-1234,CVE-2026-5678$", table.Out);
        Assert.Matches("(?m)^lp_b +6\\.1\\.0-56-amd64 \\(running\\) +local +yes \\(enabled\\) +- +- ", table.Out);
        using (var document = JsonDocument.Parse(json.Out))
        {
            var patches = document.RootElement.GetProperty("patches");
            Assert.Equal(1, document.RootElement.GetProperty("schemaVersion").GetInt32());
            Assert.Equal(["lp_a", "lp_b"], patches.EnumerateArray().Select(p => p.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
            Assert.Equal("cmdline fix", patches.EnumerateArray().Single(p => p.GetProperty("name").GetString() == "lp_a").GetProperty("description").GetString());
        }

        var uninstall = await Lpctl(daemon, "uninstall", "lp_b");
        var again = await Lpctl(daemon, "-o", "json", "uninstall", "lp_b");

        Assert.True(uninstall.ExitCode == 0, uninstall.ToString());
        Assert.Contains("still loaded", uninstall.Out, StringComparison.Ordinal);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("(not-installed)", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_meta_file_is_refused_before_the_daemon_is_asked()
    {
        await using var daemon = await StartAsync();
        var meta = Path.Combine(Files.FullName, "meta.json");
        File.WriteAllText(meta, """{"cve": ["typo"]}""");

        var run = await Lpctl(daemon, "install", Module("lp_a"), "--meta", meta);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("is not valid metadata", run.Error, StringComparison.Ordinal);
        Assert.Equal(0, Kernel.LoadCalls);
    }

    [Fact]
    public async Task Status_shows_an_interrupted_apply_and_apply_resume_lifts_it()
    {
        await using (var first = await StartAsync("Apply:AtStartup=false"))
        {
            Assert.Equal(0, (await Lpctl(first, "install", Module("lp_a"))).ExitCode);
            File.WriteAllText(Path.Combine(first.StateDir, "apply-in-progress.json"),
                $$"""{"bootId":"{{EarlierBoot}}","patch":"lp_a","sha256":"{{new string('0', 64)}}","kernelRelease":"{{ModuleImage.Release}}","startedAt":"2026-11-27T23:59:00+00:00"}""");
            await first.StopAsync();
            var daemon = await DaemonHarness.StartAsync(Fixture, new DaemonHarnessOptions { Loader = Kernel, Directory = first.Directory },
                [TrustedCertificateDir.SettingFor(TrustedDir)]);
            try
            {
                LpctlRun status = null!;
                await DaemonHarness.WaitForAsync(async () =>
                {
                    status = await Lpctl(daemon, "status");
                    return status.Out.Contains("SKIPPED", StringComparison.Ordinal);
                }, TimeSpan.FromSeconds(20));
                Assert.Matches("(?m)^Start-up apply: +SKIPPED \\(previous-apply-interrupted\\): .*lp_a was being applied", status.Out);
                Assert.Matches("(?m)^State: +degraded", status.Out);

                var refused = await Lpctl(daemon, "-o", "json", "apply");
                var resumed = await Lpctl(daemon, "apply", "--resume");

                Assert.Equal(1, refused.ExitCode);
                Assert.Contains("(previous-apply-interrupted)", refused.Error, StringComparison.Ordinal);
                Assert.True(resumed.ExitCode == 0, resumed.ToString());
                Assert.Matches("(?m)^lp_a +applied +", resumed.Out);
                Assert.Contains("resumed after an interrupted apply", resumed.Out, StringComparison.Ordinal);
                Assert.Equal(1, Kernel.LoadCalls);
            }
            finally
            {
                await daemon.StopAsync();
            }
        }
    }
}

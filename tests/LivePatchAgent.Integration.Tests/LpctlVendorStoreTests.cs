using System.Text.Json;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The vendor store (Paths:VendorStoreDir) as a package leaves it, with lpctl as a process against the real daemon
/// and a simulated kernel: listed with its origin, applied by lpctl apply and start-up apply, never uninstalled,
/// shadowed by a local install, and a removed vendor file leaves its loaded patch loaded.
/// </summary>
public sealed class LpctlVendorStoreTests : SimulatedHostTests
{
    public LpctlVendorStoreTests()
        : base("lpctl-vendor-")
    {
        VendorDir = Path.Combine(Files.FullName, "vendor");
        ReleaseDir = Directory.CreateDirectory(Path.Combine(VendorDir, ModuleImage.Release)).FullName;
    }

    private string VendorDir { get; }

    private string ReleaseDir { get; }

    private string VendorSetting => $"Paths:VendorStoreDir={VendorDir}";

    private static byte[] Signed(string name, string? level = null)
    {
        var image = new ModuleImage().With("name", name);
        if (level is not null)
        {
            image.With("livepatch_level", level);
        }

        image.StructModuleName = name;
        return TestSigningKey.Trusted.Sign(image.Build());
    }

    /// <summary>What a package drops: the module and, with a package name, its sidecar.</summary>
    private string Deliver(string name, string? package, string? level = null)
    {
        var path = Path.Combine(ReleaseDir, name + ".ko");
        File.WriteAllBytes(path, Signed(name, level));
        if (package is not null)
        {
            File.WriteAllText(Path.Combine(ReleaseDir, name + ".vendor.json"), $$"""{"package": "{{package}}", "version": "1.0-1", "maintainer": "ignored"}""");
        }

        return path;
    }

    [Fact]
    public async Task A_vendor_patch_is_listed_with_its_package_applied_and_its_uninstall_refused()
    {
        Deliver("lp_x", "livepatch-lp-x-6.1.0-56-amd64");
        Deliver("lp_y", package: null);
        await using var daemon = await StartAsync("Apply:AtStartup=false", VendorSetting);

        var table = await Lpctl(daemon, "list", "--installed");
        var apply = await Lpctl(daemon, "apply");
        var json = await Lpctl(daemon, "-o", "json", "list", "--installed");
        var uninstall = await Lpctl(daemon, "uninstall", "lp_x");
        var uninstallJson = await Lpctl(daemon, "-o", "json", "uninstall", "lp_y");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Matches("(?m)^NAME +KERNEL +ORIGIN +LOADED +", table.Out);
        Assert.Matches("(?m)^lp_x +6\\.1\\.0-56-amd64 \\(running\\) +vendor \\(livepatch-lp-x-6\\.1\\.0-56-amd64\\) +no +", table.Out);
        Assert.Matches("(?m)^lp_y +6\\.1\\.0-56-amd64 \\(running\\) +vendor +no +", table.Out);
        Assert.Matches("(?m)^note: lp_y: no sidecar lp_y\\.vendor\\.json; the package is unknown$", table.Out);

        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Matches("(?m)^lp_x +applied +", apply.Out);
        Assert.Matches("(?m)^lp_y +applied +", apply.Out);
        Assert.Equal(2, Kernel.LoadCalls);

        Assert.True(json.ExitCode == 0, json.ToString());
        using (var document = JsonDocument.Parse(json.Out))
        {
            var patches = document.RootElement.GetProperty("patches").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
            Assert.Equal("vendor", patches["lp_x"].GetProperty("origin").GetString());
            Assert.Equal("livepatch-lp-x-6.1.0-56-amd64", patches["lp_x"].GetProperty("package").GetString());
            Assert.Equal("1.0-1", patches["lp_x"].GetProperty("packageVersion").GetString());
            Assert.Equal(Path.Combine(ReleaseDir, "lp_x.ko"), patches["lp_x"].GetProperty("path").GetString());
            Assert.True(patches["lp_x"].GetProperty("loaded").GetBoolean());
            Assert.NotNull(patches["lp_x"].GetProperty("signer").GetString());
            Assert.Equal(JsonValueKind.Null, patches["lp_y"].GetProperty("package").ValueKind);
        }

        Assert.Equal(1, uninstall.ExitCode);
        Assert.Contains("lp_x is installed by the package livepatch-lp-x-6.1.0-56-amd64 (vendor store " + ReleaseDir + "); remove the package with your package manager (apt remove / dnf remove)",
            uninstall.Error, StringComparison.Ordinal);
        Assert.Equal(1, uninstallJson.ExitCode);
        using (var document = JsonDocument.Parse(uninstallJson.Out))
        {
            var error = document.RootElement.GetProperty("error");
            Assert.Equal("vendor-patch", error.GetProperty("reason").GetString());
            Assert.Contains("lp_y is installed by a vendor package", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // The daemon wrote nothing into the vendor store.
        Assert.Equal(["lp_x.ko", "lp_x.vendor.json", "lp_y.ko"], Directory.GetFiles(ReleaseDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Start_up_apply_loads_a_vendor_patch_a_newer_cumulative_one_replaces_it_and_a_removed_file_leaves_it_loaded()
    {
        Deliver("lp_v1", "livepatch-lp-v1", level: "1");
        await using var daemon = await StartAsync(VendorSetting);

        await DaemonHarness.WaitForAsync(() => Task.FromResult(Loaded("lp_v1")), TimeSpan.FromSeconds(20));

        // The package is upgraded: the newer cumulative patch replaces the loaded one atomically.
        Deliver("lp_v2", "livepatch-lp-v2", level: "2");
        Kernel.Replacing["lp_v2"] = true;
        var apply = await Lpctl(daemon, "apply");

        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Matches("(?m)^lp_v2 +applied +", apply.Out);
        Assert.True(Loaded("lp_v2"));
        Assert.False(Loaded("lp_v1"));
        Assert.Equal(2, Kernel.LoadCalls);

        // The package is removed: nothing unloads the patch; it is loaded and no longer installed.
        File.Delete(Path.Combine(ReleaseDir, "lp_v2.ko"));
        File.Delete(Path.Combine(ReleaseDir, "lp_v2.vendor.json"));
        var json = await Lpctl(daemon, "-o", "json", "list", "--installed");
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var loaded = await Lpctl(daemon, "-o", "json", "list");

        Assert.True(json.ExitCode == 0, json.ToString());
        using (var document = JsonDocument.Parse(json.Out))
        {
            Assert.Equal(["lp_v1"], document.RootElement.GetProperty("patches").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        }

        Assert.True(loaded.ExitCode == 0, loaded.ToString());
        Assert.Contains("\"lp_v2\"", loaded.Out, StringComparison.Ordinal);
        Assert.True(Loaded("lp_v2"));
        Assert.True(Directory.Exists(Path.Combine(Fixture.Root, "sys/module/lp_v2")));
    }

    private bool Loaded(string name) => Directory.Exists(Path.Combine(Fixture.LivepatchDir, name));

    [Fact]
    public async Task A_local_install_shadows_the_vendor_copy_and_uninstalling_it_uncovers_the_vendor_one()
    {
        Deliver("lp_s", "livepatch-lp-s");
        var local = Path.Combine(Files.FullName, "lp_s.ko");
        File.WriteAllBytes(local, Signed("lp_s"));
        await using var daemon = await StartAsync("Apply:AtStartup=false", VendorSetting);

        var install = await Lpctl(daemon, "install", local);
        var json = await Lpctl(daemon, "-o", "json", "list", "--installed");
        var uninstall = await Lpctl(daemon, "uninstall", "lp_s");
        var after = await Lpctl(daemon, "list", "--installed");

        Assert.True(install.ExitCode == 0, install.ToString());
        using (var document = JsonDocument.Parse(json.Out))
        {
            var patch = Assert.Single(document.RootElement.GetProperty("patches").EnumerateArray());
            Assert.Equal("local", patch.GetProperty("origin").GetString());
            Assert.Equal(JsonValueKind.Null, patch.GetProperty("package").ValueKind);
            Assert.StartsWith(daemon.StateDir, patch.GetProperty("path").GetString(), StringComparison.Ordinal);
            Assert.Contains("shadows the vendor copy " + Path.Combine(ReleaseDir, "lp_s.ko") + " (installed by the package livepatch-lp-s)",
                patch.GetProperty("notes")[0].GetString(), StringComparison.Ordinal);
        }

        Assert.True(uninstall.ExitCode == 0, uninstall.ToString());
        Assert.Contains("the vendor copy installed by the package livepatch-lp-s is installed now", uninstall.Out, StringComparison.Ordinal);
        Assert.Matches("(?m)^lp_s +6\\.1\\.0-56-amd64 \\(running\\) +vendor \\(livepatch-lp-s\\) +no +", after.Out);
    }

    [Fact]
    public async Task Bad_vendor_store_entries_are_listing_problems_and_the_daemon_serves_on()
    {
        Deliver("lp_ok", "livepatch-lp-ok");
        File.WriteAllText(Path.Combine(ReleaseDir, "README"), "junk");
        File.WriteAllBytes(Path.Combine(ReleaseDir, "lp_zip.ko.xz"), [1, 2, 3]);
        File.CreateSymbolicLink(Path.Combine(ReleaseDir, "lp_gone.ko"), Path.Combine(Files.FullName, "missing.ko"));
        Directory.CreateDirectory(Path.Combine(ReleaseDir, "lp_dir.ko"));
        File.WriteAllText(Path.Combine(ReleaseDir, "lp_bad.ko"), "not an ELF file");
        File.WriteAllText(Path.Combine(ReleaseDir, "lp_bad.vendor.json"), "{not json");
        await using var daemon = await StartAsync("Apply:AtStartup=false", VendorSetting);

        var table = await Lpctl(daemon, "list", "--installed");
        var apply = await Lpctl(daemon, "-o", "json", "apply");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Matches("(?m)^lp_ok +.* vendor \\(livepatch-lp-ok\\) +no +", table.Out);
        Assert.Matches("(?m)^problem: .*/README: not a patch module", table.Out);
        Assert.Matches("(?m)^problem: .*/lp_zip\\.ko\\.xz: not a patch module", table.Out);
        Assert.Matches("(?m)^problem: .*/lp_gone\\.ko is a dangling symbolic link", table.Out);
        Assert.Matches("(?m)^problem: .*/lp_dir\\.ko: not a patch module", table.Out);
        Assert.Matches("(?m)^note: lp_bad: .*lp_bad\\.vendor\\.json is not valid JSON", table.Out);
        Assert.Matches("(?m)^note: lp_bad: does not verify \\(module-malformed\\)", table.Out);
        // The malformed module fails its load with a clear reason; the good one loads.
        Assert.Equal(1, apply.ExitCode);
        using var document = JsonDocument.Parse(apply.Out);
        var results = document.RootElement.GetProperty("results").EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!);
        Assert.Equal("applied", results["lp_ok"].GetProperty("outcome").GetString());
        Assert.Equal("failed", results["lp_bad"].GetProperty("outcome").GetString());
        Assert.Equal("module-malformed", results["lp_bad"].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_vendor_store_that_is_a_file_is_a_listing_problem()
    {
        var file = Path.Combine(Files.FullName, "not-a-dir");
        File.WriteAllText(file, "x");
        await using var daemon = await StartAsync("Apply:AtStartup=false", $"Paths:VendorStoreDir={file}");

        var table = await Lpctl(daemon, "list", "--installed");
        var all = await Lpctl(daemon, "list", "--installed", "--all-kernels");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains($"problem: {file} is not a directory (Paths:VendorStoreDir); no vendor patches are read", table.Out, StringComparison.Ordinal);
        Assert.True(all.ExitCode == 0, all.ToString());
    }

    [Fact]
    public async Task A_relative_vendor_store_path_is_refused_at_start()
    {
        var run = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync("Paths:VendorStoreDir=relative/patches"));

        Assert.Contains("VendorStoreDir", run.Message, StringComparison.Ordinal);
    }
}

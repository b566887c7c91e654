using LivePatchAgent.Core.Modules;
using LivePatchAgent.Daemon.Store;
using Microsoft.Extensions.Logging.Abstractions;
using static LivePatchAgent.Unit.Tests.Daemon.Store.StoreManifests;

namespace LivePatchAgent.Unit.Tests.Daemon.Store;

/// <summary>The vendor store reader against temporary directories, the precedence of the local store, and apply plans with vendor patches.</summary>
public sealed class VendorStoreTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("lpa-vendor-");

    private string Root => Path.Combine(_dir.FullName, "vendor");

    private string ReleaseDir => Path.Combine(Root, Release);

    public void Dispose() => _dir.Delete(recursive: true);

    private VendorStore Store(long maxModuleSize = 1024 * 1024) => new(Root,
        (module, release) => ModuleVerifier.Verify(module, new VerificationContext(release, ElfMachine.Host, TestSigningKey.Trusted.AsTrusted())), maxModuleSize);

    private string Deliver(string name, string? sidecar = null, string? level = null, TestSigningKey? key = null)
    {
        Directory.CreateDirectory(ReleaseDir);
        var image = new ModuleImage().With("name", name);
        if (level is not null)
        {
            image.With("livepatch_level", level);
        }

        image.StructModuleName = name;
        var path = Path.Combine(ReleaseDir, name + ".ko");
        File.WriteAllBytes(path, (key ?? TestSigningKey.Trusted).Sign(image.Build()));
        if (sidecar is not null)
        {
            File.WriteAllText(Path.Combine(ReleaseDir, name + VendorStore.SidecarSuffix), sidecar);
        }

        return path;
    }

    [Fact]
    public void A_vendor_patch_is_read_from_its_module_with_the_package_of_its_sidecar()
    {
        var path = Deliver("lp_x", """{"package": "livepatch-lp-x-6.1.0-56-amd64", "version": "1.0-1", "arch": "amd64", "extra": {"n": 1}}""");
        var problems = new List<string>();

        var patch = Assert.Single(Store().List(Release, problems));

        Assert.Empty(problems);
        Assert.Equal("lp_x", patch.Name);
        Assert.Equal(Release, patch.KernelRelease);
        Assert.Equal(new VendorSource(path, "livepatch-lp-x-6.1.0-56-amd64", "1.0-1"), patch.Vendor! with { Warnings = [] });
        Assert.Empty(patch.Vendor!.Warnings);
        Assert.Equal(new FileInfo(path).Length, patch.Size);
        Assert.NotNull(patch.Signer);
        Assert.Equal("signed", patch.Metadata!.Source);
        Assert.Null(patch.Replace);
        Assert.Equal("by the package livepatch-lp-x-6.1.0-56-amd64", patch.Vendor.By);
    }

    [Theory]
    [InlineData(null, "no sidecar lp_x.vendor.json; the package is unknown")]
    [InlineData("{not json", "is not valid JSON")]
    [InlineData("[1, 2]", "is not a JSON object")]
    [InlineData("""{"package": 42, "version": "1"}""", "names no package")]
    [InlineData("""{"package": ""}""", "names no package")]
    public void A_missing_or_malformed_sidecar_leaves_a_vendor_patch_with_an_unknown_package_and_a_warning(string? sidecar, string warning)
    {
        Deliver("lp_x", sidecar);
        var problems = new List<string>();

        var patch = Assert.Single(Store().List(Release, problems));

        Assert.Empty(problems);
        Assert.NotNull(patch.Vendor);
        Assert.Null(patch.Vendor.Package);
        Assert.Contains(warning, Assert.Single(patch.Vendor.Warnings), StringComparison.Ordinal);
        Assert.Equal("by a vendor package", patch.Vendor.By);
    }

    [Fact]
    public void A_missing_store_or_release_directory_is_empty_without_a_problem()
    {
        var problems = new List<string>();

        Assert.Empty(Store().List(Release, problems));
        Directory.CreateDirectory(Root);
        Assert.Empty(Store().List(Release, problems));
        Assert.Empty(Store().Releases(problems));
        Assert.Empty(problems);
    }

    [Fact]
    public void A_store_that_is_a_file_is_a_problem_not_an_exception()
    {
        File.WriteAllText(Root, "x");
        var problems = new List<string>();

        Assert.Empty(Store().List(Release, problems));
        Assert.Empty(Store().Releases(problems));

        Assert.Equal($"{Root} is not a directory (Paths:VendorStoreDir); no vendor patches are read", problems[0]);
        Assert.Equal($"{Root} is not a directory; no vendor patches are read for it", problems[1]);
    }

    [Fact]
    public void A_release_entry_that_is_a_file_is_a_problem()
    {
        Directory.CreateDirectory(Root);
        File.WriteAllText(ReleaseDir, "x");
        var problems = new List<string>();

        Assert.Empty(Store().List(Release, problems));

        Assert.Equal($"{ReleaseDir} is not a directory; no vendor patches are read for it", Assert.Single(problems));
    }

    [Fact]
    public void Junk_a_dangling_link_a_directory_and_an_orphan_sidecar_are_problems_and_the_good_patch_is_still_read()
    {
        Deliver("lp_ok", """{"package": "p"}""");
        File.WriteAllText(Path.Combine(ReleaseDir, "notes.txt"), "junk");
        File.WriteAllBytes(Path.Combine(ReleaseDir, "lp_z.ko.xz"), [1, 2, 3]);
        File.CreateSymbolicLink(Path.Combine(ReleaseDir, "lp_gone.ko"), Path.Combine(_dir.FullName, "missing.ko"));
        Directory.CreateDirectory(Path.Combine(ReleaseDir, "lp_dir.ko"));
        File.WriteAllText(Path.Combine(ReleaseDir, "lp_orphan.vendor.json"), """{"package": "q"}""");
        File.WriteAllBytes(Path.Combine(ReleaseDir, "bad name!.ko"), [1]);
        var problems = new List<string>();

        var patch = Assert.Single(Store().List(Release, problems));

        Assert.Equal("lp_ok", patch.Name);
        Assert.Collection(problems,
            p => Assert.Equal($"{ReleaseDir}/bad name!.ko: not a valid patch name (" + LivePatchAgent.Core.ModuleName.Validate("bad name!") + "); ignored", p),
            p => Assert.Equal($"{ReleaseDir}/lp_dir.ko: not a patch module (<name>.ko, uncompressed) or a sidecar (<name>.vendor.json); ignored", p),
            p => Assert.Equal($"{ReleaseDir}/lp_gone.ko is a dangling symbolic link (to {Path.Combine(_dir.FullName, "missing.ko")}); ignored", p),
            p => Assert.Equal($"{ReleaseDir}/lp_orphan.vendor.json: a sidecar without its module lp_orphan.ko; ignored", p),
            p => Assert.StartsWith($"{ReleaseDir}/lp_z.ko.xz: not a patch module", p, StringComparison.Ordinal),
            p => Assert.StartsWith($"{ReleaseDir}/notes.txt: not a patch module", p, StringComparison.Ordinal));
    }

    [Fact]
    public void A_module_over_the_size_limit_is_not_read()
    {
        var path = Deliver("lp_big");
        var problems = new List<string>();

        Assert.Empty(Store(maxModuleSize: 100).List(Release, problems));

        Assert.Equal($"{path} is {new FileInfo(path).Length} bytes; Limits:MaxModuleSize allows 100; ignored", Assert.Single(problems));
    }

    [Fact]
    public void A_module_that_fails_a_check_is_still_a_vendor_patch_with_a_warning_so_that_its_load_fails_clearly()
    {
        Deliver("lp_untrusted", """{"package": "p"}""", key: TestSigningKey.Untrusted);
        Directory.CreateDirectory(ReleaseDir);
        File.WriteAllText(Path.Combine(ReleaseDir, "lp_garbage.ko"), "not an ELF file");
        var problems = new List<string>();

        var patches = Store().List(Release, problems).ToDictionary(p => p.Name);

        Assert.Empty(problems);
        Assert.StartsWith("does not verify (untrusted-signer): ", patches["lp_untrusted"].Vendor!.Warnings[0], StringComparison.Ordinal);
        Assert.Equal("unsigned-modinfo", patches["lp_untrusted"].Metadata!.Source);
        Assert.StartsWith("does not verify (module-malformed): ", patches["lp_garbage"].Vendor!.Warnings[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_vendor_patch_that_declares_a_level_is_cumulative()
    {
        Deliver("lp_v3", level: "3");

        var patch = Assert.Single(Store().List(Release, []));

        Assert.True(patch.IsCumulative);
        Assert.Equal(3UL, patch.EffectiveMetadata.Level);
    }

    [Fact]
    public void Listing_never_writes_to_the_vendor_store()
    {
        Deliver("lp_x", """{"package": "p"}""");
        var before = Snapshot();

        Store().List(Release, []);
        Store().Releases([]);

        Assert.Equal(before, Snapshot());

        string Snapshot() => string.Join("\n", Directory.GetFileSystemEntries(Root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(e => $"{e} {File.GetLastWriteTimeUtc(e):O}"));
    }

    [Fact]
    public void Releases_are_the_release_directories_in_ordinal_order()
    {
        Directory.CreateDirectory(Path.Combine(Root, "6.1.0-9-amd64"));
        Directory.CreateDirectory(Path.Combine(Root, "6.1.0-10-amd64"));
        Directory.CreateDirectory(Path.Combine(Root, "not a release!"));
        File.WriteAllText(Path.Combine(Root, "6.1.0-11-amd64"), "a file");

        Assert.Equal(["6.1.0-10-amd64", "6.1.0-9-amd64"], Store().Releases([]));
    }

    [Fact]
    public void A_local_install_shadows_the_vendor_copy_of_the_same_name()
    {
        var vendor = Store();
        Deliver("lp_a", """{"package": "livepatch-lp-a"}""");
        Deliver("lp_b", """{"package": "livepatch-lp-b"}""");
        var local = new PatchStore(Path.Combine(_dir.FullName, "state", "patches"));
        var module = Module("a");
        local.Install(For("lp_a", module), module);
        var installed = new InstalledPatches(local, vendor, NullLogger<InstalledPatches>.Instance);

        var merged = installed.List(Release, []).ToDictionary(p => p.Name);

        Assert.Null(merged["lp_a"].Vendor);
        Assert.Equal("livepatch-lp-a", merged["lp_a"].ShadowedVendor!.Package);
        Assert.Equal("livepatch-lp-b", merged["lp_b"].Vendor!.Package);
        Assert.Null(merged["lp_b"].ShadowedVendor);
        Assert.Null(installed.VendorRefusal(Release, "lp_a"));
        Assert.Equal($"lp_b is installed by the package livepatch-lp-b (vendor store {ReleaseDir}); remove the package with your package manager (apt remove / dnf remove)",
            installed.VendorRefusal(Release, "lp_b"));
        Assert.Null(installed.VendorRefusal(Release, "lp_none"));
    }

    [Fact]
    public void Releases_of_both_stores_are_listed_once()
    {
        Directory.CreateDirectory(Path.Combine(Root, "6.1.0-1-amd64"));
        Directory.CreateDirectory(Path.Combine(Root, Release));
        var local = new PatchStore(Path.Combine(_dir.FullName, "state", "patches"));
        var module = Module("a");
        local.Install(For("lp_a", module), module);

        var releases = new InstalledPatches(local, Store(), NullLogger<InstalledPatches>.Instance).Releases([]);

        Assert.Equal(["6.1.0-1-amd64", Release], releases);
    }

    [Fact]
    public void A_newer_cumulative_vendor_patch_is_chosen_over_an_older_local_one_and_replaces_it()
    {
        Deliver("lp_v5", level: "5");
        var vendorPatch = Assert.Single(Store().List(Release, []));
        var local = For("lp_v4", Module("4"), replace: true, version: 4, minute: 1);
        var stacked = For("lp_extra", Module("e"), minute: 0) with { InstalledAt = vendorPatch.InstalledAt.AddMinutes(1) };

        var plan = ApplyPlan.For(InstalledPatches.Merge([local, stacked], [vendorPatch]), n => n == "lp_v4");

        Assert.Equal(["lp_v5 Load", "lp_extra Load", "lp_v4 AlreadyLoaded"], plan.Select(p => $"{p.Patch.Name} {p.Decision}"));
    }

    [Fact]
    public void An_older_cumulative_vendor_patch_is_superseded_by_a_newer_local_one()
    {
        Deliver("lp_v1", level: "1");
        var vendorPatch = Assert.Single(Store().List(Release, []));
        var local = For("lp_v4", Module("4"), replace: true, version: 4, minute: 1);

        var plan = ApplyPlan.For(InstalledPatches.Merge([local], [vendorPatch]), _ => false);

        Assert.Equal(["lp_v4 Load", "lp_v1 Superseded"], plan.Select(p => $"{p.Patch.Name} {p.Decision}"));
        Assert.Equal("lp_v4", plan[1].SupersededBy);
    }
}

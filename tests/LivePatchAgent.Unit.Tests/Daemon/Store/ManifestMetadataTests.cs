using LivePatchAgent.Core.Modules;
using LivePatchAgent.Daemon.Store;
using static LivePatchAgent.Unit.Tests.Daemon.Store.StoreManifests;

namespace LivePatchAgent.Unit.Tests.Daemon.Store;

/// <summary>
/// The security metadata in an installed patch's manifest: schema 2 keeps what the module declared with its source,
/// a version 1 manifest (written before) still reads, and the operator's fields fill only what the module leaves out.
/// </summary>
public sealed class ManifestMetadataTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("lpa-manifest-");

    private string Root => Path.Combine(_dir.FullName, "patches");

    public void Dispose() => _dir.Delete(recursive: true);

    private static PatchMetadata Declared(MetadataSource source, params (string Key, string Value)[] entries) =>
        PatchMetadata.FromModInfo(ModuleInfo.FromEntries(entries.Select(e => KeyValuePair.Create(e.Key, e.Value))), source).Metadata;

    [Fact]
    public void Signed_metadata_round_trips_through_the_store()
    {
        var store = new PatchStore(Root);
        var module = Module("meta");
        var declared = Declared(MetadataSource.SignedModinfo,
            ("livepatch_cve", "CVE-2099-0002"), ("livepatch_cve", "CVE-2099-0001"), ("livepatch_summary", "fix"),
            ("livepatch_level", "4"), ("livepatch_fixes_version", "6.1.194-1"));
        store.Install(For("lp_a", module) with { Metadata = StoredMetadata.From(declared, MetadataSource.SignedModinfo) }, module);

        var manifest = Assert.Single(new PatchStore(Root).List(Release, []));
        var json = File.ReadAllText(Path.Combine(Root, Release, "lp_a.json"));

        Assert.Equal(2, manifest.SchemaVersion);
        Assert.Contains("\"source\": \"signed\"", json, StringComparison.Ordinal);
        var read = manifest.Declared;
        Assert.Equal(["CVE-2099-0001", "CVE-2099-0002"], [.. read.CveIds]);
        Assert.Equal("fix", read.Summary);
        Assert.Equal(4UL, read.Level);
        Assert.Equal("6.1.194-1", read.FixesVersion);
        Assert.Equal(MetadataSource.SignedModinfo, read.Source);
        // The module's CVE ids win over the operator's CVE-2026-1234 (StoreManifests.For), which stay in their own field.
        Assert.Equal(["CVE-2099-0001", "CVE-2099-0002"], [.. manifest.EffectiveMetadata.CveIds]);
        Assert.Equal(["CVE-2026-1234"], manifest.CveIds);
        Assert.Equal(MetadataSource.SignedModinfo, manifest.EffectiveMetadata.Source);
    }

    [Fact]
    public void A_version_1_manifest_without_metadata_still_reads_and_shows_the_operators_fields()
    {
        var module = Module("old");
        var dir = Directory.CreateDirectory(Path.Combine(Root, Release));
        File.WriteAllBytes(Path.Combine(dir.FullName, "lp_old.ko"), module);
        // As livepatchd wrote it before schema 2: no "metadata".
        File.WriteAllText(Path.Combine(dir.FullName, "lp_old.json"), $$"""
            {
              "schemaVersion": 1,
              "name": "lp_old",
              "kernelRelease": "{{Release}}",
              "sha256": "{{For("lp_old", module).Sha256}}",
              "size": {{module.Length}},
              "modinfo": [ { "key": "livepatch", "value": "Y" }, { "key": "name", "value": "lp_old" } ],
              "replace": true,
              "installedAt": "2026-11-28T10:00:00+00:00",
              "description": "old operator text",
              "cveIds": [ "CVE-2026-5678", "CVE-2026-1234" ],
              "cumulativeVersion": 3
            }
            """);

        var manifest = Assert.Single(new PatchStore(Root).List(Release, []));

        Assert.Equal(1, manifest.SchemaVersion);
        Assert.Null(manifest.Metadata);
        Assert.True(manifest.Declared.IsEmpty);
        var effective = manifest.EffectiveMetadata;
        Assert.Equal(["CVE-2026-1234", "CVE-2026-5678"], [.. effective.CveIds]);
        Assert.Equal("old operator text", effective.Summary);
        Assert.Equal(3UL, effective.Level);
        Assert.Equal(MetadataSource.Operator, effective.Source);
    }

    [Fact]
    public void A_version_1_manifest_whose_modinfo_declares_metadata_reads_it_as_unsigned()
    {
        // Schema 1 did not record whether the signature was trusted, so its .modinfo metadata is not shown as signed.
        var manifest = For("lp_old", Module("old")) with
        {
            SchemaVersion = 1,
            Modinfo = [new ModinfoEntry("livepatch_cve", "CVE-2099-0001"), new ModinfoEntry("livepatch_level", "2")],
        };

        Assert.Equal(["CVE-2099-0001"], [.. manifest.Declared.CveIds]);
        Assert.Equal(MetadataSource.UnsignedModinfo, manifest.Declared.Source);
        Assert.Equal(2UL, manifest.EffectiveMetadata.Level);
    }

    [Fact]
    public void An_unknown_source_word_never_reads_as_signed()
    {
        var stored = new StoredMetadata(["CVE-2099-0001"], null, null, null, "trusted-by-someone");

        Assert.Equal(MetadataSource.UnsignedModinfo, stored.ToMetadata().Source);
    }

    [Fact]
    public void A_signed_module_that_declares_nothing_keeps_its_source_and_no_fields()
    {
        var stored = StoredMetadata.From(PatchMetadata.None, MetadataSource.SignedModinfo);

        Assert.Equal("signed", stored.Source);
        Assert.True(stored.ToMetadata().IsEmpty);
        Assert.Equal(MetadataSource.None, stored.ToMetadata().Source);
    }
}

using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Unit.Tests.Core.Modules;

/// <summary>
/// Security metadata declared in .modinfo (livepatch_cve, livepatch_summary, livepatch_level,
/// livepatch_fixes_version): read from ELF bytes, checked by the verifier's "metadata" check, marked signed only
/// under a trusted signature, and merged with the operator's.
/// </summary>
public sealed class PatchMetadataTests
{
    private const string RealRelease = "6.1.0-57-amd64";

    private static ModuleImage WithMetadata(params string[] entries)
    {
        var image = new ModuleImage();
        image.ModInfo.AddRange(entries);
        return image;
    }

    private static VerificationReport Verify(byte[] file, bool requireSignature = true) =>
        ModuleVerifier.Verify(file, ModuleVerifierTests.Context() with { RequireSignature = requireSignature });

    private static VerificationCheck MetadataCheck(VerificationReport report) => report.Checks.Single(c => c.Name == VerificationCheck.Metadata);

    [Fact]
    public void ModuleInfo_reads_every_key_from_the_elf_with_repeated_cves()
    {
        var file = WithMetadata(
            "livepatch_cve=CVE-2099-0002", "livepatch_cve=CVE-2099-0001", "livepatch_summary=one line",
            "livepatch_level=3", "livepatch_fixes_version=6.1.194-1").Build();

        var info = KernelModule.Parse(file, ElfMachine.X64).ModInfo;

        Assert.Equal(["CVE-2099-0002", "CVE-2099-0001"], [.. info.LivepatchCves]);
        Assert.Equal("one line", info.LivepatchSummary);
        Assert.Equal("3", info.LivepatchLevel);
        Assert.Equal("6.1.194-1", info.LivepatchFixesVersion);
        Assert.True(info.DeclaresPatchMetadata);
        Assert.False(KernelModule.Parse(ModuleImage.Default(), ElfMachine.X64).ModInfo.DeclaresPatchMetadata);
    }

    [Fact]
    public void A_kbuild_module_with_every_key_verifies_as_signed_under_a_trusted_signature()
    {
        // Built by kbuild from tests/e2e/modules/lpdemo_v2.c (TestData/README.md); signed here by the test key.
        var file = TestSigningKey.Trusted.Sign(TestData.Read("lpdemo_v2.metadata.ko"));
        var context = new VerificationContext(RealRelease, ElfMachine.X64, TestSigningKey.Trusted.AsTrusted());

        var report = ModuleVerifier.Verify(file, context);

        Assert.True(report.Succeeded, report.FirstFailure?.Detail);
        Assert.True(report.SignatureTrusted);
        var metadata = report.Metadata;
        // The linker wrote the three entries in reverse source order; the ids come out by number.
        Assert.Equal(["CVE-2099-0003", "CVE-2099-0002", "CVE-2099-0001"], [.. report.Module!.ModInfo.LivepatchCves]);
        Assert.Equal(["CVE-2099-0001", "CVE-2099-0002", "CVE-2099-0003"], [.. metadata.CveIds]);
        Assert.Equal("lpdemo_v2: cumulative, carries lpdemo_v1's made-up fixes and one more", metadata.Summary);
        Assert.Equal(2UL, metadata.Level);
        Assert.Equal("6.1.999-1", metadata.FixesVersion);
        Assert.Equal(MetadataSource.SignedModinfo, metadata.Source);
        Assert.All([metadata.CveIdsSource, metadata.SummarySource, metadata.LevelSource, metadata.FixesVersionSource],
            s => Assert.Equal(MetadataSource.SignedModinfo, s));
        var check = MetadataCheck(report);
        Assert.Equal(CheckStatus.Passed, check.Status);
        Assert.Equal("declares CVE-2099-0001, CVE-2099-0002, CVE-2099-0003; level 2; fixes of 6.1.999-1; a summary; signed: the trusted signature covers it", check.Detail);
        Assert.Equal(VerificationCheck.Metadata, report.Checks[^1].Name);
    }

    [Fact]
    public void The_same_module_unsigned_is_unsigned_modinfo_when_signatures_are_not_required()
    {
        var context = new VerificationContext(RealRelease, ElfMachine.X64, TestSigningKey.Trusted.AsTrusted()) { RequireSignature = false };

        var report = ModuleVerifier.Verify(TestData.Read("lpdemo_v2.metadata.ko"), context);

        Assert.True(report.Succeeded, report.FirstFailure?.Detail);
        Assert.False(report.SignatureTrusted);
        Assert.Equal(MetadataSource.UnsignedModinfo, report.Metadata.Source);
        Assert.Equal(3, report.Metadata.CveIds.Length);
        Assert.EndsWith("unsigned-modinfo: no trusted signature covers it", MetadataCheck(report).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_untrusted_signer_accepted_without_required_signatures_is_not_signed_metadata()
    {
        var file = TestSigningKey.Untrusted.Sign(WithMetadata("livepatch_cve=CVE-2099-0001").Build());

        var report = Verify(file, requireSignature: false);

        Assert.True(report.Succeeded, report.FirstFailure?.Detail);
        Assert.Equal(CheckStatus.Passed, report.Checks.Single(c => c.Name == VerificationCheck.Signature).Status);
        Assert.False(report.SignatureTrusted);
        Assert.Equal(MetadataSource.UnsignedModinfo, report.Metadata.CveIdsSource);
    }

    [Fact]
    public void A_module_that_declares_nothing_skips_the_check_and_has_no_metadata()
    {
        var report = Verify(TestSigningKey.Trusted.Sign(ModuleImage.Default()));

        Assert.True(report.Succeeded);
        Assert.Equal(CheckStatus.Skipped, MetadataCheck(report).Status);
        Assert.StartsWith("skipped: module \"lp_unit\" declares no security metadata", MetadataCheck(report).Detail, StringComparison.Ordinal);
        Assert.True(report.Metadata.IsEmpty);
        Assert.Equal(MetadataSource.None, report.Metadata.Source);
    }

    [Theory]
    [InlineData("livepatch_cve=CVE-2024-123", "livepatch_cve=\"CVE-2024-123\" is not a CVE id: expected CVE-YYYY-NNNN")]
    [InlineData("livepatch_cve=cve-2024-1234", "livepatch_cve=\"cve-2024-1234\" is not a CVE id as MITRE writes it")]
    [InlineData("livepatch_cve= CVE-2024-1234", "livepatch_cve=\" CVE-2024-1234\" is not a CVE id as MITRE writes it")]
    [InlineData("livepatch_cve=CVE-2024-1234\n", "livepatch_cve=\"CVE-2024-1234\\x0a\" is not a CVE id as MITRE writes it")]
    [InlineData("livepatch_cve=CVE-2024-1234,CVE-2024-5678", "is not a CVE id: expected CVE-YYYY-NNNN")]
    [InlineData("livepatch_cve=", "livepatch_cve=\"\" is not a CVE id")]
    [InlineData("livepatch_summary=first line\nsecond line", "spans more than one line")]
    [InlineData("livepatch_summary=tab\there", "contains the control character U+0009")]
    [InlineData("livepatch_summary=right-to-left \u202e override", "contains the control character U+202E")]
    [InlineData("livepatch_summary=   ", "is empty; leave the key out instead")]
    [InlineData("livepatch_level=three", "livepatch_level=\"three\" is not a level: expected a decimal integer")]
    [InlineData("livepatch_level=-1", "is not a level: expected a decimal integer")]
    [InlineData("livepatch_level=99999999999999999999", "is not a level: it does not fit in 64 bits")]
    [InlineData("livepatch_fixes_version=v6.1", "livepatch_fixes_version=\"v6.1\" is not a package version")]
    [InlineData("livepatch_fixes_version=6.1 194", "is not a package version")]
    public void A_value_that_breaks_the_rules_fails_verification_and_names_it(string entry, string expected)
    {
        var report = Verify(TestSigningKey.Trusted.Sign(WithMetadata("livepatch_cve=CVE-2099-0001", entry).Build()));

        Assert.False(report.Succeeded);
        var check = MetadataCheck(report);
        Assert.Equal(CheckStatus.Failed, check.Status);
        Assert.Equal(ErrorReason.MetadataInvalid, check.Reason);
        Assert.Same(check, report.FirstFailure);
        Assert.StartsWith("module \"lp_unit\" declares invalid security metadata: ", check.Detail, StringComparison.Ordinal);
        Assert.Contains(expected, check.Detail, StringComparison.Ordinal);
        // Nothing of a broken declaration is taken, not even its valid CVE id.
        Assert.True(report.Metadata.IsEmpty);
        Assert.Equal(ErrorReason.MetadataInvalid, Assert.Throws<AgentException>(report.ThrowIfFailed).Reason);
    }

    [Fact]
    public void An_overlong_summary_is_refused()
    {
        var report = Verify(TestSigningKey.Trusted.Sign(WithMetadata("livepatch_summary=" + new string('x', 201)).Build()));

        Assert.Contains("is 201 characters; a summary is one line of at most 200", MetadataCheck(report).Detail, StringComparison.Ordinal);
        Assert.True(Verify(TestSigningKey.Trusted.Sign(WithMetadata("livepatch_summary=" + new string('x', 200)).Build())).Succeeded);
    }

    [Theory]
    [InlineData(PatchMetadataKeys.Summary)]
    [InlineData(PatchMetadataKeys.Level)]
    [InlineData(PatchMetadataKeys.FixesVersion)]
    public void A_single_valued_key_given_twice_is_refused(string key)
    {
        var report = Verify(TestSigningKey.Trusted.Sign(WithMetadata($"{key}=1", $"{key}=2").Build()));

        Assert.Equal(ErrorReason.MetadataInvalid, report.FirstFailure?.Reason);
        Assert.Contains($"{key} is declared 2 times; it may appear once", MetadataCheck(report).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_check_shows_at_most_three_problems_and_counts_the_rest()
    {
        var report = Verify(TestSigningKey.Trusted.Sign(WithMetadata(
            "livepatch_cve=a", "livepatch_cve=b", "livepatch_cve=c", "livepatch_cve=d", "livepatch_cve=e").Build()));

        Assert.EndsWith("; and 2 more; fix the MODULE_INFO lines (docs/patch-authoring.md) and rebuild", MetadataCheck(report).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repeated_cve_counts_once_and_an_unknown_livepatch_key_is_a_warning()
    {
        var report = Verify(TestSigningKey.Trusted.Sign(WithMetadata(
            "livepatch_cve=CVE-2099-0001", "livepatch_cve=CVE-2099-0001", "livepatch_cves=CVE-2099-0002").Build()));

        Assert.True(report.Succeeded, report.FirstFailure?.Detail);
        Assert.Equal(["CVE-2099-0001"], [.. report.Metadata.CveIds]);
        Assert.Equal(
            [
                "livepatch_cve=CVE-2099-0001 is declared more than once; it counts once",
                "\"livepatch_cves\" is not a metadata key livepatchd knows (livepatch_cve, livepatch_summary, livepatch_level, livepatch_fixes_version); it is ignored",
            ],
            [.. report.Metadata.Warnings]);
        var check = MetadataCheck(report);
        Assert.Equal(CheckStatus.Passed, check.Status);
        Assert.Contains("; warning: livepatch_cve=CVE-2099-0001 is declared more than once", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_typo_that_leaves_no_known_key_is_skipped_with_the_warning()
    {
        var report = Verify(TestSigningKey.Trusted.Sign(WithMetadata("livepatch_cves=CVE-2099-0002").Build()));

        var check = MetadataCheck(report);
        Assert.Equal(CheckStatus.Skipped, check.Status);
        Assert.Contains("warning: \"livepatch_cves\" is not a metadata key livepatchd knows", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void More_than_the_limit_of_cve_ids_is_refused()
    {
        var entries = Enumerable.Range(1, PatchMetadata.MaxCveIds + 1).Select(i => $"livepatch_cve=CVE-2099-{i:D5}").ToArray();

        var reading = PatchMetadata.FromModInfo(ModuleInfo.FromEntries(entries.Select(e => KeyValuePair.Create("livepatch_cve", e[14..]))), MetadataSource.SignedModinfo);

        Assert.False(reading.Valid);
        Assert.Equal("1025 CVE ids are declared; at most 1024 are accepted", Assert.Single(reading.Errors));
    }

    [Fact]
    public void Signed_metadata_wins_and_the_operator_fills_only_what_the_module_leaves_out()
    {
        var declared = PatchMetadata.FromModInfo(
            ModuleInfo.FromEntries([KeyValuePair.Create("livepatch_cve", "CVE-2099-0001"), KeyValuePair.Create("livepatch_level", "3")]),
            MetadataSource.SignedModinfo).Metadata;
        var operatorSupplied = PatchMetadata.FromOperator("operator's words", ["CVE-2026-1234", "CVE-2026-5678"], 7);

        var merged = PatchMetadata.Merge(declared, operatorSupplied);

        // The module's CVE list is taken whole: the operator's ids are not added to a signed list.
        Assert.Equal(["CVE-2099-0001"], [.. merged.CveIds]);
        Assert.Equal(MetadataSource.SignedModinfo, merged.CveIdsSource);
        Assert.Equal(3UL, merged.Level);
        Assert.Equal(MetadataSource.SignedModinfo, merged.LevelSource);
        Assert.Equal("operator's words", merged.Summary);
        Assert.Equal(MetadataSource.Operator, merged.SummarySource);
        Assert.Null(merged.FixesVersion);
        Assert.Equal(MetadataSource.None, merged.FixesVersionSource);
        // The overall source is the least trusted of the fields present.
        Assert.Equal(MetadataSource.Operator, merged.Source);
    }

    [Fact]
    public void A_module_that_declares_nothing_shows_the_operators_metadata_as_operator()
    {
        var merged = PatchMetadata.Merge(PatchMetadata.None, PatchMetadata.FromOperator(null, ["CVE-2026-5678", "CVE-2026-1234", "CVE-2026-1234"], null));

        Assert.Equal(["CVE-2026-1234", "CVE-2026-5678"], [.. merged.CveIds]);
        Assert.Equal(MetadataSource.Operator, merged.Source);
        Assert.Null(merged.Summary);
        Assert.Null(merged.Level);
    }

    [Fact]
    public void Unsigned_modinfo_is_less_trusted_than_the_operator_and_nothing_is_none()
    {
        var unsigned = PatchMetadata.FromModInfo(ModuleInfo.FromEntries([KeyValuePair.Create("livepatch_cve", "CVE-2099-0001")]), MetadataSource.UnsignedModinfo).Metadata;

        Assert.Equal(MetadataSource.UnsignedModinfo, PatchMetadata.Merge(unsigned, PatchMetadata.FromOperator("words", [], null)).Source);
        Assert.Equal(MetadataSource.None, PatchMetadata.Merge(PatchMetadata.None, PatchMetadata.FromOperator("  ", [], null)).Source);
    }

    [Fact]
    public void Operator_metadata_is_never_read_as_module_metadata()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PatchMetadata.FromModInfo(ModuleInfo.Empty, MetadataSource.Operator));
    }

    [Fact]
    public void Cve_ids_sort_by_year_then_number()
    {
        string[] ids = ["CVE-2024-10000", "CVE-2023-9999", "CVE-2024-9999", "CVE-2024-0001"];

        Assert.Equal(["CVE-2023-9999", "CVE-2024-0001", "CVE-2024-9999", "CVE-2024-10000"], ids.Order(CveIdComparer.Instance));
    }

    [Theory]
    [InlineData("CVE-2024-1234", true)]
    [InlineData("CVE-2024-1234567", true)]
    [InlineData("CVE-24-1234", false)]
    [InlineData("CVE-2024-123", false)]
    [InlineData("CVE-2024-1234 ", false)]
    [InlineData("GHSA-xxxx-yyyy-zzzz", false)]
    public void Cve_id_rule(string id, bool valid) => Assert.Equal(valid, PatchMetadata.CveIdProblem(id) is null);

    [Fact]
    public void Source_words_round_trip_and_an_unknown_word_is_none()
    {
        foreach (var source in Enum.GetValues<MetadataSource>())
        {
            Assert.Equal(source, PatchMetadata.ParseSource(PatchMetadata.Name(source)));
        }

        Assert.Equal(MetadataSource.None, PatchMetadata.ParseSource("trusted"));
    }
}

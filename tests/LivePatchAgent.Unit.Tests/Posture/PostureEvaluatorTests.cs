using System.Text;
using LivePatchAgent.Core.Posture;

namespace LivePatchAgent.Unit.Tests.Posture;

public sealed class PostureEvaluatorTests
{
    private static readonly KernelPackage Bookworm = new("Debian:12", "linux", "6.1.192-2");

    private static OsvAdvisory Parsed(OsvRecord record)
    {
        var result = OsvParser.Parse(Encoding.UTF8.GetBytes(record.ToJson()), record.Id + ".json");
        Assert.Null(result.Problem);
        return Assert.Single(result.Advisories);
    }

    private static AdvisorySet Set(params OsvRecord[] records) => AdvisorySet.Create(records.Select(Parsed));

    private static KernelPosture Evaluate(OsvRecord[] records, params PatchClaim[] patches) =>
        PostureEvaluator.Evaluate(Set(records), Bookworm, TestVersionOrder.ForEcosystem, patches);

    private static KernelPosture Evaluate(OsvRecord record, params PatchClaim[] patches) => Evaluate([record], patches);

    /// <summary>A Debian 12 kernel advisory fixed in <paramref name="fixedVersion"/>.</summary>
    private static OsvRecord Fixed(string id, string fixedVersion, params string[] cves) =>
        new OsvRecord(id).Upstream(cves).Affects("Debian:12", "linux", a => a.Introduced("0").Fixed(fixedVersion));

    private static PatchClaim Live(string name, params string[] ids) =>
        new(name, Live: true, Installed: true, ids.ToValueArray(), ClaimSource.SignedMetadata);

    private static PatchClaim Installed(string name, params string[] ids) =>
        new(name, Live: false, Installed: true, ids.ToValueArray(), ClaimSource.SignedMetadata);

    private static PatchFix Declared(string patch, ClaimSource source = ClaimSource.SignedMetadata) => new(patch, source, FixEvidence.DeclaredId);

    private static PatchFix Level(string patch) => new(patch, ClaimSource.SignedMetadata, FixEvidence.KernelLevel);

    [Fact]
    public void An_advisory_fixed_above_the_running_version_is_open_with_its_fixed_version()
    {
        var posture = Evaluate(Fixed("DEBIAN-CVE-2026-1001", "6.1.194-1", "CVE-2026-1001").Summary("net: a flaw"));

        Assert.True(posture.IsKnown);
        Assert.Equal(Bookworm, posture.Package);
        var item = Assert.Single(posture.Items);
        Assert.Equal(new PostureItem("DEBIAN-CVE-2026-1001", ["CVE-2026-1001"], Severity.Unknown, "net: a flaw", PostureState.Open, [], "6.1.194-1"), item);
        Assert.Equal(1, posture.Summary.Open);
        Assert.Equal("6.1.194-1", posture.Summary.RebootTarget);
        Assert.Equal("6.1.192-2", posture.Summary.EffectiveLevel);
        Assert.Null(posture.Summary.EffectiveLevelPatch);
    }

    [Fact]
    public void An_advisory_fixed_at_or_below_the_running_version_is_counted_not_affected_and_not_listed()
    {
        var posture = Evaluate([Fixed("A", "6.1.180-1", "CVE-2026-1001"), Fixed("B", "6.1.192-2", "CVE-2026-1002")]);

        Assert.Empty(posture.Items);
        Assert.Equal(2, posture.Summary.NotAffected);
        Assert.Null(posture.Summary.RebootTarget);
        Assert.Null(posture.Summary.HighestOpen);
    }

    [Fact]
    public void Advisories_for_another_release_package_or_distribution_are_not_counted_at_all()
    {
        var posture = Evaluate([
            new OsvRecord("BULLSEYE").Affects("Debian:11", "linux", a => a.Introduced("0").Fixed("6.1.194-1")),
            new OsvRecord("OPENSSL").Affects("Debian:12", "openssl", a => a.Introduced("0").Fixed("6.1.194-1")),
            new OsvRecord("UBUNTU").Affects("Ubuntu:22.04:LTS", "linux", a => a.Introduced("0").Fixed("6.1.194-1")),
            new OsvRecord("NO-PACKAGE").Set("affected", new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject())),
        ]);

        Assert.Empty(posture.Items);
        Assert.Equal(new PostureSummary { EffectiveLevel = "6.1.192-2" }, posture.Summary);
    }

    [Fact]
    public void An_ecosystem_without_a_release_applies_to_every_release()
    {
        var posture = Evaluate(new OsvRecord("ANY").Affects("Debian", "linux", a => a.Introduced("0").Fixed("6.1.194-1")));

        Assert.Equal(PostureState.Open, Assert.Single(posture.Items).State);
    }

    [Fact]
    public void A_live_patch_declaring_the_cve_makes_it_fixed_live()
    {
        var posture = Evaluate(Fixed("DEBIAN-CVE-2026-1001", "6.1.194-1", "CVE-2026-1001"), Live("lp_net", "CVE-2026-1001"));

        var item = Assert.Single(posture.Items);
        Assert.Equal(PostureState.FixedLive, item.State);
        Assert.Equal([Declared("lp_net")], item.Patches);
        Assert.Equal(1, posture.Summary.FixedLive);
        Assert.Equal(0, posture.Summary.Open);
        Assert.Null(posture.Summary.RebootTarget);
        // Once rebooted the patch is gone, so the version that closes it without patches is still named.
        Assert.Equal("6.1.194-1", posture.Summary.RebootTargetWithoutPatches);
    }

    [Theory]
    [InlineData("cve-2026-1001")]
    [InlineData(" CVE-2026-1001 ")]
    [InlineData("DEBIAN-CVE-2026-1001")]
    [InlineData("UBUNTU-CVE-2026-1001")]
    public void Declared_ids_are_compared_in_their_cve_form(string declared) =>
        Assert.Equal(PostureState.FixedLive, Assert.Single(Evaluate(Fixed("A", "6.1.194-1", "CVE-2026-1001"), Live("lp", declared)).Items).State);

    [Fact]
    public void An_installed_patch_that_is_not_loaded_makes_it_fixed_installed()
    {
        var posture = Evaluate(Fixed("A", "6.1.194-1", "CVE-2026-1001"), Installed("lp_net", "CVE-2026-1001"));

        var item = Assert.Single(posture.Items);
        Assert.Equal(PostureState.FixedInstalled, item.State);
        Assert.Equal([Declared("lp_net")], item.Patches);
        Assert.Equal(1, posture.Summary.FixedInstalled);
    }

    [Fact]
    public void A_patch_neither_live_nor_installed_counts_for_nothing()
    {
        var loadedDisabled = new PatchClaim("lp_old", Live: false, Installed: false, ["CVE-2026-1001"], ClaimSource.SignedMetadata);

        var item = Assert.Single(Evaluate(Fixed("A", "6.1.194-1", "CVE-2026-1001"), loadedDisabled).Items);

        Assert.Equal(PostureState.Open, item.State);
        Assert.Empty(item.Patches);
    }

    [Fact]
    public void Live_wins_over_installed_and_names_only_the_live_patches()
    {
        var item = Assert.Single(Evaluate(Fixed("A", "6.1.194-1", "CVE-2026-1001"),
            Installed("lp_next", "CVE-2026-1001"), Live("lp_now", "CVE-2026-1001")).Items);

        Assert.Equal(PostureState.FixedLive, item.State);
        Assert.Equal([Declared("lp_now")], item.Patches);
    }

    [Fact]
    public void A_notice_with_several_cves_needs_all_of_them_covered()
    {
        var dsa = Fixed("DSA-5990-1", "6.1.194-1", "CVE-2026-1001", "CVE-2026-1002");

        var one = Assert.Single(Evaluate(dsa, Live("lp_one", "CVE-2026-1001")).Items);
        Assert.Equal(PostureState.Open, one.State);
        // The patch that covers part of it is named on the open advisory.
        Assert.Equal([Declared("lp_one")], one.Patches);

        var liveAndInstalled = Assert.Single(Evaluate(dsa, Live("lp_one", "CVE-2026-1001"), Installed("lp_two", "CVE-2026-1002")).Items);
        Assert.Equal(PostureState.FixedInstalled, liveAndInstalled.State);
        Assert.Equal([Declared("lp_one"), Declared("lp_two")], liveAndInstalled.Patches);

        var both = Assert.Single(Evaluate(dsa, Live("lp_one", "CVE-2026-1001"), Live("lp_two", "CVE-2026-1002")).Items);
        Assert.Equal(PostureState.FixedLive, both.State);

        var oneCumulative = Assert.Single(Evaluate(dsa, Live("lp_all", "CVE-2026-1002", "CVE-2026-1001")).Items);
        Assert.Equal(PostureState.FixedLive, oneCumulative.State);
        Assert.Equal([Declared("lp_all")], oneCumulative.Patches);
    }

    [Fact]
    public void Cve_aliases_are_cve_ids_like_any_other_but_the_advisory_id_or_a_non_cve_alias_covers_it_whole()
    {
        var dsa = new OsvRecord("DSA-5990-1").Aliases("CVE-2026-1001", "CVE-2026-1002", "DLA-4000-1")
            .Affects("Debian:12", "linux", a => a.Introduced("0").Fixed("6.1.194-1"));

        Assert.Equal(PostureState.Open, Assert.Single(Evaluate(dsa, Live("lp", "CVE-2026-1001")).Items).State);
        Assert.Equal(PostureState.FixedLive, Assert.Single(Evaluate(dsa, Live("lp", "DSA-5990-1")).Items).State);
        Assert.Equal(PostureState.FixedLive, Assert.Single(Evaluate(dsa, Live("lp", "dla-4000-1")).Items).State);
    }

    [Fact]
    public void A_live_kernel_level_closes_what_that_version_is_not_affected_by()
    {
        var cumulative = new PatchClaim("lp_cumulative", Live: true, Installed: true, [], ClaimSource.SignedMetadata, KernelLevel: "6.1.194-1");

        var posture = Evaluate([Fixed("A", "6.1.194-1", "CVE-2026-1001"), Fixed("B", "6.1.196-1", "CVE-2026-1002")], cumulative);

        Assert.Equal("6.1.194-1", posture.Summary.EffectiveLevel);
        Assert.Equal("lp_cumulative", posture.Summary.EffectiveLevelPatch);
        var a = Assert.Single(posture.Items, i => i.AdvisoryId == "A");
        Assert.Equal(PostureState.FixedLive, a.State);
        Assert.Equal([Level("lp_cumulative")], a.Patches);
        Assert.Equal(PostureState.Open, Assert.Single(posture.Items, i => i.AdvisoryId == "B").State);
        Assert.Equal("6.1.196-1", posture.Summary.RebootTarget);
        Assert.Equal("6.1.196-1", posture.Summary.RebootTargetWithoutPatches);
    }

    [Fact]
    public void The_highest_live_level_is_the_effective_one_and_a_level_not_above_the_running_version_is_ignored()
    {
        PatchClaim Cumulative(string name, string level) => new(name, Live: true, Installed: true, [], ClaimSource.SignedMetadata, level);

        var posture = Evaluate(Fixed("A", "6.1.196-1"), Cumulative("lp_2", "6.1.196-1"), Cumulative("lp_1", "6.1.194-1"));
        Assert.Equal("6.1.196-1", posture.Summary.EffectiveLevel);
        Assert.Equal("lp_2", posture.Summary.EffectiveLevelPatch);
        Assert.Equal([Level("lp_2")], Assert.Single(posture.Items).Patches);

        var stale = Evaluate(Fixed("A", "6.1.196-1"), Cumulative("lp_0", "6.1.190-1"), Cumulative("lp_same", "6.1.192-2"));
        Assert.Equal("6.1.192-2", stale.Summary.EffectiveLevel);
        Assert.Null(stale.Summary.EffectiveLevelPatch);
        Assert.Equal(PostureState.Open, Assert.Single(stale.Items).State);
    }

    [Fact]
    public void An_installed_kernel_level_makes_it_fixed_installed()
    {
        var next = new PatchClaim("lp_next", Live: false, Installed: true, [], ClaimSource.Operator, KernelLevel: "6.1.194-1");

        var posture = Evaluate(Fixed("A", "6.1.194-1"), next);

        var item = Assert.Single(posture.Items);
        Assert.Equal(PostureState.FixedInstalled, item.State);
        Assert.Equal([new PatchFix("lp_next", ClaimSource.Operator, FixEvidence.KernelLevel)], item.Patches);
        // Only live patches raise the effective level.
        Assert.Equal("6.1.192-2", posture.Summary.EffectiveLevel);
    }

    [Fact]
    public void The_claim_source_is_kept_on_the_fix()
    {
        var operatorClaim = new PatchClaim("lp_hand", Live: true, Installed: false, ["CVE-2026-1001"], ClaimSource.Operator);

        Assert.Equal([Declared("lp_hand", ClaimSource.Operator)], Assert.Single(Evaluate(Fixed("A", "6.1.194-1", "CVE-2026-1001"), operatorClaim).Items).Patches);
    }

    [Fact]
    public void Last_affected_leaves_the_advisory_open_without_a_fixed_version()
    {
        var posture = Evaluate([
            new OsvRecord("LAST").Affects("Debian:12", "linux", a => a.Introduced("6.1.190-1").LastAffected("6.1.192-2")),
            new OsvRecord("PAST").Affects("Debian:12", "linux", a => a.Introduced("0").LastAffected("6.1.191-1")),
            Fixed("FIX", "6.1.194-1"),
        ]);

        var last = Assert.Single(posture.Items, i => i.AdvisoryId == "LAST");
        Assert.Equal(PostureState.Open, last.State);
        Assert.Null(last.FixedVersion);
        Assert.Equal(1, posture.Summary.NotAffected);
        Assert.Equal(1, posture.Summary.OpenWithoutFix);
        Assert.Equal(1, posture.Summary.AffectedWithoutFix);
        Assert.Equal("6.1.194-1", posture.Summary.RebootTarget);
    }

    [Fact]
    public void An_explicit_version_list_affects_exactly_the_versions_it_names()
    {
        var posture = Evaluate([
            new OsvRecord("LISTED").Affects("Debian:12", "linux", a => a.Versions("6.1.190-1", "6.1.192-2")),
            new OsvRecord("NOT-LISTED").Affects("Debian:12", "linux", a => a.Versions("6.1.190-1", "6.1.192-20")),
        ]);

        var listed = Assert.Single(posture.Items);
        Assert.Equal("LISTED", listed.AdvisoryId);
        Assert.Null(listed.FixedVersion);
        Assert.Equal(1, posture.Summary.NotAffected);
    }

    [Fact]
    public void A_version_in_the_list_is_affected_even_outside_the_range()
    {
        var item = Assert.Single(Evaluate(new OsvRecord("U").Affects("Debian:12", "linux",
            a => a.Introduced("0").Fixed("6.1.100-1").Versions("6.1.192-2"))).Items);

        Assert.Equal(PostureState.Open, item.State);
        Assert.Null(item.FixedVersion);
    }

    [Fact]
    public void Several_ranges_and_entries_are_all_evaluated()
    {
        var posture = Evaluate([
            // Fixed in 6.1.180-1, broken again in 6.1.190-1, fixed for good in 6.1.195-1.
            new OsvRecord("REGRESSED").Affects("Debian:12", "linux", a => a.Introduced("0").Fixed("6.1.180-1").Introduced("6.1.190-1").Fixed("6.1.195-1")),
            // Two entries for the same package (as a notice can have): the second one catches the running version.
            new OsvRecord("TWO-ENTRIES")
                .Affects("Debian:12", "linux", a => a.Introduced("0").Fixed("6.1.100-1"))
                .Affects("Debian:12", "linux", a => a.Introduced("6.1.150-1").Fixed("6.1.193-1")),
            // Events in any order: sorted before the walk.
            new OsvRecord("UNSORTED").Affects("Debian:12", "linux", a => a.Fixed("6.1.197-1").Introduced("6.1.0-1")),
        ]);

        Assert.Equal("6.1.195-1", Assert.Single(posture.Items, i => i.AdvisoryId == "REGRESSED").FixedVersion);
        Assert.Equal("6.1.193-1", Assert.Single(posture.Items, i => i.AdvisoryId == "TWO-ENTRIES").FixedVersion);
        Assert.Equal("6.1.197-1", Assert.Single(posture.Items, i => i.AdvisoryId == "UNSORTED").FixedVersion);
        Assert.Equal("6.1.197-1", posture.Summary.RebootTarget);
    }

    [Fact]
    public void The_fixed_version_is_the_lowest_fix_that_is_not_itself_affected()
    {
        // 6.1.193-1 fixes the first range but is inside the second one.
        var item = Assert.Single(Evaluate(new OsvRecord("R").Affects("Debian:12", "linux",
            a => a.Introduced("0").Fixed("6.1.193-1").Range().Introduced("6.1.193-1").Fixed("6.1.195-1"))).Items);

        Assert.Equal("6.1.195-1", item.FixedVersion);
    }

    [Fact]
    public void A_limit_bounds_the_range()
    {
        var posture = Evaluate([
            new OsvRecord("BELOW-LIMIT").Affects("Debian:12", "linux", a => a.Introduced("0").Limit("6.1.100-1")),
            new OsvRecord("UNLIMITED").Affects("Debian:12", "linux", a => a.Introduced("0").Limit("*")),
        ]);

        Assert.Equal("UNLIMITED", Assert.Single(posture.Items).AdvisoryId);
        Assert.Equal(1, posture.Summary.NotAffected);
    }

    [Fact]
    public void Git_and_semver_ranges_alone_cannot_be_evaluated_and_are_reported()
    {
        var posture = Evaluate([
            new OsvRecord("GIT-ONLY").Affects("Debian:12", "linux", a => a.Range("GIT", "https://git.kernel.org/stable.git").Introduced("0").Fixed("abc123")),
            new OsvRecord("SEMVER-ONLY").Affects("Debian:12", "linux", a => a.Range("SEMVER").Introduced("0").Fixed("6.2.0")),
        ]);

        Assert.Empty(posture.Items);
        Assert.Equal(2, posture.Summary.Unevaluated);
        Assert.Equal(
            [new UnevaluatedAdvisory("GIT-ONLY", "no ECOSYSTEM range or version list for linux in Debian:12"),
             new UnevaluatedAdvisory("SEMVER-ONLY", "no ECOSYSTEM range or version list for linux in Debian:12")],
            posture.Unevaluated);
    }

    [Fact]
    public void A_version_the_order_cannot_compare_makes_that_advisory_unevaluated_and_the_rest_go_on()
    {
        var posture = PostureEvaluator.Evaluate(
            Set(Fixed("GOOD", "6.1.194-1"), Fixed("BAD", "6.1.x!-1")),
            Bookworm,
            _ => new PickyOrder(),
            [new PatchClaim("lp", true, true, [], ClaimSource.SignedMetadata, KernelLevel: "level?")]);

        Assert.Equal("GOOD", Assert.Single(posture.Items).AdvisoryId);
        var bad = Assert.Single(posture.Unevaluated);
        Assert.Equal("BAD", bad.AdvisoryId);
        Assert.Equal("its versions cannot be compared in the Debian:12 order: not a version: 6.1.x!-1", bad.Reason);
        Assert.Equal(["patch lp: its kernel level \"level?\" cannot be compared with 6.1.192-2, so it is not used: not a version: level?"], posture.Notes);
    }

    [Fact]
    public void Without_a_version_order_for_the_ecosystem_the_posture_is_unknown()
    {
        var posture = PostureEvaluator.Evaluate(Set(Fixed("A", "6.1.194-1")), Bookworm, _ => null, []);

        Assert.False(posture.IsKnown);
        Assert.Equal("no version order is known for the ecosystem \"Debian:12\"", posture.UnknownReason);
        Assert.Equal(Bookworm, posture.Package);
        Assert.Empty(posture.Items);
        Assert.Equal(KernelPosture.Unknown("no version order is known for the ecosystem \"Debian:12\"", Bookworm), posture);
    }

    [Fact]
    public void The_ecosystem_is_asked_for_as_written()
    {
        var asked = new List<string>();

        PostureEvaluator.Evaluate(AdvisorySet.Empty, Bookworm, e => { asked.Add(e); return TestVersionOrder.Instance; }, []);

        Assert.Equal(["Debian:12"], asked);
    }

    [Fact]
    public void Severity_is_the_distribution_word_for_the_package_then_for_the_record_then_cvss()
    {
        const string Critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        var posture = Evaluate([
            new OsvRecord("ENTRY-WORD").Severity("CVSS_V3", Critical).DatabaseSpecific("severity", "High")
                .Affects("Debian:12", "linux", a => a.Introduced("0").Fixed("6.1.194-1").EcosystemSpecific("urgency", "low"))
                .Affects("Debian:11", "linux", a => a.Introduced("0").Fixed("5.10.240-1").EcosystemSpecific("urgency", "high")),
            new OsvRecord("RECORD-WORD").Severity("CVSS_V3", Critical).DatabaseSpecific("severity", "Moderate")
                .Affects("Debian:12", "linux", a => a.Introduced("0").Fixed("6.1.194-1").EcosystemSpecific("urgency", "not yet assigned")),
            new OsvRecord("CVSS-ONLY").Severity("CVSS_V3", Critical)
                .Affects("Debian:12", "linux", a => a.Introduced("0").Fixed("6.1.194-1")),
            new OsvRecord("ENTRY-CVSS").Affects("Debian:12", "linux", a => a.Introduced("0").Fixed("6.1.194-1")
                .Severity("CVSS_V3", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H")),
            Fixed("UNRATED", "6.1.194-1"),
        ]);

        Assert.Equal(
            [("CVSS-ONLY", Severity.Critical), ("ENTRY-CVSS", Severity.High), ("RECORD-WORD", Severity.Medium), ("ENTRY-WORD", Severity.Low), ("UNRATED", Severity.Unknown)],
            posture.Items.Select(i => (i.AdvisoryId, i.Severity)));
        Assert.Equal(new SeverityCounts(Unknown: 1, None: 0, Low: 1, Medium: 1, High: 1, Critical: 1), posture.Summary.OpenBySeverity);
        Assert.Equal(Severity.Critical, posture.Summary.HighestOpen);
        Assert.Equal(1, posture.Summary.OpenBySeverity[Severity.High]);
        Assert.Equal(5, posture.Summary.OpenBySeverity.Total);
    }

    [Fact]
    public void Items_are_ordered_by_state_then_severity_then_id()
    {
        var posture = Evaluate([
            Fixed("B-LIVE", "6.1.194-1", "CVE-1000-0001"),
            Fixed("A-INSTALLED", "6.1.194-1", "CVE-1000-0002"),
            Fixed("C-OPEN-LOW", "6.1.194-1").DatabaseSpecific("severity", "low"),
            Fixed("D-OPEN-HIGH", "6.1.194-1").DatabaseSpecific("severity", "high"),
            Fixed("A-OPEN-LOW", "6.1.194-1").DatabaseSpecific("severity", "low"),
        ], Live("lp1", "CVE-1000-0001"), Installed("lp2", "CVE-1000-0002"));

        Assert.Equal(["D-OPEN-HIGH", "A-OPEN-LOW", "C-OPEN-LOW", "A-INSTALLED", "B-LIVE"], posture.Items.Select(i => i.AdvisoryId));
        Assert.Equal((1, 1, 3), (posture.Summary.FixedLive, posture.Summary.FixedInstalled, posture.Summary.Open));
        Assert.Equal(Severity.High, posture.Summary.HighestOpen);
    }

    [Fact]
    public void The_reboot_targets_are_the_highest_fixed_versions_of_the_open_and_of_all_affected_advisories()
    {
        var posture = Evaluate([
            Fixed("OPEN-1", "6.1.194-1"),
            Fixed("OPEN-2", "6.1.196-1"),
            new OsvRecord("OPEN-UNFIXED").Affects("Debian:12", "linux", a => a.Introduced("0")),
            Fixed("LIVE", "6.1.199-1", "CVE-2026-1009"),
        ], Live("lp", "CVE-2026-1009"));

        Assert.Equal("6.1.196-1", posture.Summary.RebootTarget);
        Assert.Equal(1, posture.Summary.OpenWithoutFix);
        Assert.Equal("6.1.199-1", posture.Summary.RebootTargetWithoutPatches);
        Assert.Equal(1, posture.Summary.AffectedWithoutFix);
    }

    [Fact]
    public void The_same_inputs_give_an_equal_posture_and_a_change_gives_a_different_one()
    {
        var set = Set(Fixed("A", "6.1.194-1", "CVE-2026-1001"), Fixed("B", "6.1.196-1", "CVE-2026-1002"));
        PatchClaim[] patches = [Live("lp", "CVE-2026-1001")];

        var first = PostureEvaluator.Evaluate(set, Bookworm, TestVersionOrder.ForEcosystem, patches);
        var again = PostureEvaluator.Evaluate(set, Bookworm, TestVersionOrder.ForEcosystem, [.. patches.Reverse()]);
        var changed = PostureEvaluator.Evaluate(set, Bookworm, TestVersionOrder.ForEcosystem, [Installed("lp", "CVE-2026-1001")]);

        Assert.Equal(first, again);
        Assert.Equal(first.GetHashCode(), again.GetHashCode());
        Assert.NotEqual(first, changed);
    }

    [Fact]
    public void Value_arrays_compare_by_content()
    {
        ValueArray<string> a = ["x", "y"];
        ValueArray<string> b = ["x", "y"];

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.True(a != ["y", "x"]);
        Assert.Equal(default(ValueArray<string>), []);
        Assert.Empty(default(ValueArray<string>));
        Assert.Equal("[x, y]", a.ToString());
    }

    [Fact]
    public void The_committed_samples_give_the_expected_posture_of_a_debian_12_host()
    {
        using var fixture = OsvFixture.Create().WithSamples();
        var set = AdvisoryDirectory.Load(fixture.Directory);
        PatchClaim[] patches =
        [
            Live("lp_net_sched", "CVE-2026-31003"),
            Live("lp_io_uring", "CVE-2026-31004"),
            Installed("lp_dsa_5990", "CVE-2026-31001", "CVE-2026-31002"),
        ];

        var posture = PostureEvaluator.Evaluate(set, Bookworm, TestVersionOrder.ForEcosystem, patches);

        Assert.Empty(posture.Unevaluated);
        Assert.Equal(
            [
                new PostureItem("DEBIAN-CVE-2026-31007", ["CVE-2026-31007"], Severity.High, "In the Linux kernel, the following vulnerability has been resolved:", PostureState.Open, [], "6.1.196-1"),
                new PostureItem("DEBIAN-CVE-2026-31005", ["CVE-2026-31005"], Severity.Low, "In the Linux kernel, the following vulnerability has been resolved:", PostureState.Open, [], null),
                new PostureItem("DSA-5990-1", ["CVE-2026-31001", "CVE-2026-31002"], Severity.High, "linux - security update", PostureState.FixedInstalled, [Declared("lp_dsa_5990")], "6.1.194-1"),
                new PostureItem("DEBIAN-CVE-2026-31003", ["CVE-2026-31003"], Severity.Medium, "In the Linux kernel, the following vulnerability has been resolved:", PostureState.FixedLive, [Declared("lp_net_sched")], "6.1.194-1"),
                new PostureItem("DEBIAN-CVE-2026-31004", ["CVE-2026-31004"], Severity.Medium, "In the Linux kernel, the following vulnerability has been resolved:", PostureState.FixedLive, [Declared("lp_io_uring")], null),
            ],
            posture.Items);
        Assert.Equal(new PostureSummary
        {
            FixedLive = 2,
            FixedInstalled = 1,
            Open = 2,
            // DEBIAN-CVE-2026-31008 (fixed in 6.1.180-1); the withdrawn 31006 is gone, Debian:11/13 entries do not count.
            NotAffected = 1,
            OpenBySeverity = new SeverityCounts(0, 0, 1, 0, 1, 0),
            HighestOpen = Severity.High,
            EffectiveLevel = "6.1.192-2",
            RebootTarget = "6.1.196-1",
            OpenWithoutFix = 1,
            RebootTargetWithoutPatches = "6.1.196-1",
            AffectedWithoutFix = 2,
        }, posture.Summary);
    }

    [Fact]
    public void The_almalinux_sample_is_open_for_an_el9_3_kernel_and_closed_by_a_kernel_level()
    {
        using var fixture = OsvFixture.Create().WithSamples();
        var set = AdvisoryDirectory.Load(fixture.Directory);
        Assert.True(KernelPackage.TryIdentify("5.14.0-362.8.1.el9_3.x86_64", "#1 SMP PREEMPT_DYNAMIC", "ID=almalinux\nVERSION_ID=9.3", null, out var alma, out _));

        var open = PostureEvaluator.Evaluate(set, alma, TestVersionOrder.ForEcosystem, []);
        var item = Assert.Single(open.Items);
        Assert.Equal(new PostureItem("ALSA-2026:7001", ["CVE-2026-31101", "CVE-2026-31102"], Severity.High, "Important: kernel security update",
            PostureState.Open, [], "5.14.0-427.13.1.el9_4"), item);

        var level = new PatchClaim("kpatch_el9_4", Live: true, Installed: true, [], ClaimSource.SignedMetadata, "5.14.0-427.13.1.el9_4");
        Assert.Equal(PostureState.FixedLive, Assert.Single(PostureEvaluator.Evaluate(set, alma, TestVersionOrder.ForEcosystem, [level]).Items).State);
    }

    [Fact]
    public void The_ubuntu_sample_rates_by_ubuntu_priority_and_ignores_other_flavours()
    {
        using var fixture = OsvFixture.Create().WithSamples();
        var set = AdvisoryDirectory.Load(fixture.Directory);
        var jammy = new KernelPackage("Ubuntu:22.04:LTS", "linux", "5.15.0-119.129");

        var posture = PostureEvaluator.Evaluate(set, jammy, TestVersionOrder.ForEcosystem, []);

        var item = Assert.Single(posture.Items);
        Assert.Equal("UBUNTU-CVE-2026-31201", item.AdvisoryId);
        Assert.Equal(Severity.Medium, item.Severity);
        Assert.Equal("5.15.0-122.132", item.FixedVersion);
        Assert.Equal(["CVE-2026-31201"], item.CveIds);
    }

    [Theory]
    [InlineData("Debian:12", "linux", "6.1.192-2")]
    [InlineData("Ubuntu:22.04:LTS", "linux", "5.15.0-119.129")]
    [InlineData("AlmaLinux:9", "kernel", "5.14.0-362.8.1.el9_3")]
    public void The_samples_give_the_same_posture_in_the_distributions_own_version_orders(string ecosystem, string name, string version)
    {
        using var fixture = OsvFixture.Create().WithSamples();
        var set = AdvisoryDirectory.Load(fixture.Directory);
        var package = new KernelPackage(ecosystem, name, version);
        PatchClaim[] patches = [Live("lp_a", "CVE-2026-31003"), Installed("lp_b", "CVE-2026-31101", "CVE-2026-31102")];

        var real = PostureEvaluator.Evaluate(set, package, VersionOrder.ForEcosystem, patches);

        Assert.Equal(PostureEvaluator.Evaluate(set, package, TestVersionOrder.ForEcosystem, patches), real);
        Assert.NotEmpty(real.Items);
        Assert.Empty(real.Unevaluated);
    }

    [Fact]
    public void State_words()
    {
        Assert.Equal(["open", "fixed-installed", "fixed-live", "not-affected"], Enum.GetValues<PostureState>().Select(s => s.ToText()));
    }

    /// <summary>An order that refuses versions with '!' or '?', as a real one refuses what is not a version.</summary>
    private sealed class PickyOrder : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            foreach (var version in new[] { x!, y! })
            {
                if (version.Contains('!', StringComparison.Ordinal) || version.Contains('?', StringComparison.Ordinal))
                {
                    throw new FormatException($"not a version: {version}");
                }
            }

            return TestVersionOrder.Instance.Compare(x, y);
        }
    }
}

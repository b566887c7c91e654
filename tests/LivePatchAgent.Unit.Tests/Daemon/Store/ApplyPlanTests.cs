using LivePatchAgent.Daemon.Store;
using static LivePatchAgent.Unit.Tests.Daemon.Store.StoreManifests;

namespace LivePatchAgent.Unit.Tests.Daemon.Store;

public sealed class ApplyPlanTests
{
    private static IReadOnlyList<PlannedApply> Plan(IEnumerable<InstalledPatchManifest> installed, params string[] loaded) =>
        ApplyPlan.For(installed, n => loaded.Contains(n));

    private static string Describe(IReadOnlyList<PlannedApply> plan) =>
        string.Join(" ", plan.Select(p => p.Decision switch
        {
            ApplyDecision.Load => p.Patch.Name,
            ApplyDecision.AlreadyLoaded => $"({p.Patch.Name}=loaded)",
            _ => $"({p.Patch.Name}<{p.SupersededBy})",
        }));

    [Fact]
    public void Non_cumulative_patches_load_in_install_order_then_by_name()
    {
        var plan = Plan([For("lp_c", Module("c"), minute: 5), For("lp_b", Module("b"), minute: 1), For("lp_a", Module("a"), minute: 5)]);

        Assert.Equal("lp_b lp_a lp_c", Describe(plan));
    }

    [Fact]
    public void Of_several_cumulative_patches_only_the_newest_version_loads_and_goes_first()
    {
        var plan = Plan(
        [
            For("lp_v2", Module("2"), replace: true, version: 2, minute: 9),
            For("lp_v4", Module("4"), replace: true, version: 4, minute: 1),
            For("lp_extra", Module("e"), minute: 3),
            For("lp_v3", Module("3"), replace: true, version: 3, minute: 2),
        ]);

        // lp_extra was installed after lp_v4, so it stacks on top; the older cumulative ones are superseded.
        Assert.Equal("lp_v4 lp_extra (lp_v2<lp_v4) (lp_v3<lp_v4)", Describe(plan));
    }

    [Fact]
    public void The_modules_declared_level_outranks_the_operators_cumulative_version()
    {
        // lp_signed declares livepatch_level=5 in its signed .modinfo; the operator's version 4 of lp_claimed is only
        // used because lp_claimed declares no level, and lp_wrong's operator version 7 is overruled by its own level 1.
        static StoredMetadata Level(ulong level) =>
            new([], null, level, null, "signed");
        var plan = Plan(
        [
            For("lp_signed", Module("s"), replace: true, version: 1, minute: 1) with { Metadata = Level(5) },
            For("lp_wrong", Module("w"), replace: true, version: 7, minute: 2) with { Metadata = Level(1) },
            For("lp_claimed", Module("c"), replace: true, version: 4, minute: 3),
        ]);

        Assert.Equal("lp_signed (lp_claimed<lp_signed) (lp_wrong<lp_signed)", Describe(plan));
    }

    [Fact]
    public void Without_versions_the_latest_install_of_the_cumulative_patches_wins()
    {
        var plan = Plan([For("lp_x", Module("x"), replace: true, minute: 1), For("lp_y", Module("y"), replace: true, minute: 2)]);

        Assert.Equal("lp_y (lp_x<lp_y)", Describe(plan));
    }

    [Fact]
    public void Equal_version_and_time_fall_back_to_the_name_so_the_choice_is_stable()
    {
        var a = For("lp_a", Module("a"), replace: true, version: 1);
        var b = For("lp_b", Module("b"), replace: true, version: 1);

        Assert.Equal(Describe(Plan([a, b])), Describe(Plan([b, a])));
        Assert.Equal("lp_b (lp_a<lp_b)", Describe(Plan([a, b])));
    }

    [Fact]
    public void A_non_cumulative_patch_installed_before_the_cumulative_one_is_superseded()
    {
        var plan = Plan([For("lp_old", Module("o"), minute: 1), For("lp_cum", Module("c"), replace: true, minute: 2)]);

        Assert.Equal("lp_cum (lp_old<lp_cum)", Describe(plan));
    }

    [Fact]
    public void Loaded_patches_are_left_alone()
    {
        var plan = Plan([For("lp_a", Module("a"), minute: 1), For("lp_b", Module("b"), minute: 2)], "lp_a");

        Assert.Equal("lp_b (lp_a=loaded)", Describe(plan));
    }

    [Fact]
    public void Unknown_replace_counts_as_not_cumulative()
    {
        var plan = Plan([For("lp_a", Module("a"), replace: null, version: 9, minute: 1), For("lp_b", Module("b"), replace: false, minute: 2)]);

        Assert.Equal("lp_a lp_b", Describe(plan));
    }

    [Fact]
    public void The_plan_does_not_depend_on_the_listing_order()
    {
        InstalledPatchManifest[] installed =
        [
            For("lp_1", Module("1"), minute: 4), For("lp_2", Module("2"), replace: true, version: 7, minute: 2),
            For("lp_3", Module("3"), minute: 3), For("lp_4", Module("4"), replace: true, version: 7, minute: 1),
        ];

        var expected = Describe(Plan(installed));
        Assert.Equal(expected, Describe(Plan(installed.Reverse())));
        Assert.Equal(expected, Describe(Plan(installed.OrderBy(m => m.Sha256, StringComparer.Ordinal))));
    }
}

public sealed class ApplyPlanQuarantineTests
{
    [Fact]
    public void A_quarantined_cumulative_patch_is_held_back_and_the_last_known_good_one_loads_instead()
    {
        var plan = ApplyPlan.For(
        [
            For("lp_v3", Module("3"), replace: true, version: 3, minute: 1),
            For("lp_v4", Module("4"), replace: true, version: 4, minute: 2),
        ], _ => false, p => p.Name == "lp_v4" ? "quarantined for a kernel warning" : null);

        Assert.Equal("lp_v3", Assert.Single(plan, p => p.Decision == ApplyDecision.Load).Patch.Name);
        var held = Assert.Single(plan, p => p.Decision == ApplyDecision.Quarantined);
        Assert.Equal("lp_v4", held.Patch.Name);
        Assert.Equal("quarantined for a kernel warning", held.QuarantineReason);
    }

    [Fact]
    public void A_quarantined_patch_that_is_loaded_anyway_is_only_already_loaded()
    {
        var plan = ApplyPlan.For([For("lp_a", Module("a"))], n => n == "lp_a", _ => "quarantined");

        Assert.Equal(ApplyDecision.AlreadyLoaded, Assert.Single(plan).Decision);
    }
}

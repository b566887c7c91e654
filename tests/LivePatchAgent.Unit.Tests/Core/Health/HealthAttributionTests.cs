using LivePatchAgent.Core.Health;
using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Unit.Tests.Core.Health;

public sealed class HealthAttributionTests
{
    private static readonly DateTimeOffset Completed = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    private static HealthWindow WindowOf(string patch, DateTimeOffset opened, params string[] functions) =>
        new(patch, [.. functions], opened, opened + Window);

    private static readonly HealthWindow Warn = WindowOf("lpdemo_warn", Completed, "cmdline_proc_show");

    private static KernelReport Report(string sample) => Assert.Single(KernelReportAssemblerTests.Assemble(sample));

    [Fact]
    public void A_frame_in_the_patch_module_attributes_by_module()
    {
        var attribution = HealthAttribution.Attribute(Report(KmsgSamples.WarnInPatch), [Warn], Completed + TimeSpan.FromMinutes(1));

        Assert.Equal("lpdemo_warn", attribution.Patch);
        Assert.Equal(AttributionBasis.Module, attribution.Basis);
        Assert.Contains("lpdemo_warn_cmdline_show+0x2a/0x40 [lpdemo_warn]", attribution.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void A_frame_naming_a_replaced_function_attributes_by_function()
    {
        var attribution = HealthAttribution.Attribute(Report(KmsgSamples.OopsInPatchedFunction), [Warn], Completed + TimeSpan.FromMinutes(1));

        Assert.Equal("lpdemo_warn", attribution.Patch);
        Assert.Equal(AttributionBasis.Function, attribution.Basis);
        Assert.Contains("cmdline_proc_show, which lpdemo_warn replaces", attribution.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_modules_warning_is_not_attributed_even_with_a_guessed_frame_of_the_patch()
    {
        var attribution = HealthAttribution.Attribute(Report(KmsgSamples.WarnElsewhere), [Warn], Completed + TimeSpan.FromMinutes(1));

        Assert.False(attribution.Attributed);
        Assert.Equal(AttributionBasis.None, attribution.Basis);
        Assert.Contains("no reliable frame is in lpdemo_warn", attribution.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void A_report_before_the_transition_completed_or_after_the_window_is_not_attributed()
    {
        var report = Report(KmsgSamples.WarnInPatch);

        var before = HealthAttribution.Attribute(report, [Warn], Completed - TimeSpan.FromSeconds(1));
        var after = HealthAttribution.Attribute(report, [Warn], Completed + Window);

        Assert.False(before.Attributed);
        Assert.False(after.Attributed);
        Assert.Contains("health window ended", after.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_any_window_it_says_so()
    {
        var attribution = HealthAttribution.Attribute(Report(KmsgSamples.WarnInPatch), [], Completed);

        Assert.Equal("no patch is in its health window", attribution.Evidence);
    }

    [Fact]
    public void A_module_frame_outranks_a_function_name_and_the_latest_transition_wins_a_tie()
    {
        var older = WindowOf("lpdemo_v2", Completed, "lpdemo_warn_cmdline_show");
        var newer = WindowOf("lpdemo_warn", Completed + TimeSpan.FromMinutes(1));
        var report = Report(KmsgSamples.WarnInPatch);

        Assert.Equal("lpdemo_warn", HealthAttribution.Attribute(report, [older, newer], Completed + TimeSpan.FromMinutes(2)).Patch);

        var a = WindowOf("lp_a", Completed, "seq_read_iter");
        var b = WindowOf("lp_b", Completed + TimeSpan.FromMinutes(1), "seq_read_iter");
        var oops = Report(KmsgSamples.HungTask.Replace("lpdemo_sleeper_wait+0x30/0x60 [lpdemo_sleeper]", "seq_read_iter+0x1/0x2", StringComparison.Ordinal));
        Assert.Equal("lp_b", HealthAttribution.Attribute(oops, [a, b], Completed + TimeSpan.FromMinutes(2)).Patch);
    }

    [Fact]
    public void A_livepatch_error_naming_the_patch_is_attributed_to_it()
    {
        var v3 = WindowOf("lpdemo_v3", Completed);

        var attribution = HealthAttribution.Attribute(Report(KmsgSamples.LivepatchError), [v3], Completed + TimeSpan.FromSeconds(5));

        Assert.Equal(("lpdemo_v3", AttributionBasis.Module), (attribution.Patch, attribution.Basis));
    }

    [Fact]
    public void Only_the_first_new_taint_of_a_window_is_attributed_and_only_weakly()
    {
        var first = HealthAttribution.AttributeTaint('W', [Warn], Completed + TimeSpan.FromMinutes(1));
        var second = HealthAttribution.AttributeTaint('L', [Warn with { TaintSeen = true }], Completed + TimeSpan.FromMinutes(2));
        var outside = HealthAttribution.AttributeTaint('W', [Warn], Completed + Window + TimeSpan.FromSeconds(1));

        Assert.Equal(("lpdemo_warn", AttributionBasis.Taint), (first.Patch, first.Basis));
        Assert.False(second.Attributed);
        Assert.Contains("not the first new taint", second.Evidence, StringComparison.Ordinal);
        Assert.False(outside.Attributed);
    }

    [Fact]
    public void New_taint_bits_are_W_D_and_L_only_when_newly_set()
    {
        const ulong livepatched = 1UL << 15, warn = 1UL << 9, die = 1UL << 7, lockup = 1UL << 14, oot = 1UL << 12;

        Assert.Equal("WDL", string.Concat(HealthTaint.NewBits(livepatched, livepatched | warn | die | lockup | oot).Select(b => b.Letter)));
        Assert.Empty(HealthTaint.NewBits(warn | livepatched, warn | livepatched));
    }

    [Fact]
    public void The_window_of_a_patch_covers_its_replaced_functions()
    {
        var patch = new LivePatch
        {
            Name = "lpdemo_warn",
            Enabled = true,
            Transition = false,
            Objects = [new PatchObject { Name = "vmlinux", Functions = [new PatchFunction("cmdline_proc_show", 1)] }],
        };

        var window = HealthWindow.For(patch, Completed, Window);

        Assert.Equal("cmdline_proc_show", Assert.Single(window.Functions));
        Assert.True(window.IsOpenAt(Completed));
        Assert.False(window.IsOpenAt(Completed + Window));
    }
}

public sealed class ReportRateLimitTests
{
    [Fact]
    public void Past_the_limit_reports_are_counted_and_the_count_is_handed_to_the_next_one_let_through()
    {
        var t0 = new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);
        var limit = new ReportRateLimit(3);

        var passed = Enumerable.Range(0, 10).Count(i => limit.TryAcquire(t0 + TimeSpan.FromSeconds(i), out _));

        Assert.Equal(3, passed);
        Assert.Equal(7, limit.SuppressedTotal);
        Assert.True(limit.TryAcquire(t0 + TimeSpan.FromMinutes(1), out var suppressed));
        Assert.Equal(7, suppressed);
        Assert.Equal(0, limit.Suppressed);
    }
}

using System.Collections.Immutable;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Metrics;
using static LivePatchAgent.Unit.Tests.Daemon.Metrics.MetricsFixtures;

namespace LivePatchAgent.Unit.Tests.Daemon.Metrics;

/// <summary>The exposition of every fixture state, checked by the real promtool, and what it says.</summary>
public sealed class MetricsRendererTests
{
    public static TheoryData<string> States() => ["idle", "transition", "stalled", "degraded", "many patches"];

    private static AgentView ViewOf(string state) => state switch
    {
        "idle" => Idle(),
        "transition" => Transition(),
        "stalled" => Stalled(),
        "degraded" => Degraded(),
        "many patches" => ManyPatches(),
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    private static readonly ImmutableDictionary<(OperationKind, OperationResultKind), long> SomeOperations =
        new Dictionary<(OperationKind, OperationResultKind), long>
        {
            [(OperationKind.Load, OperationResultKind.Completed)] = 4,
            [(OperationKind.Load, OperationResultKind.Refused)] = 1,
            [(OperationKind.Force, OperationResultKind.Forced)] = 1,
            [(OperationKind.StartupApply, OperationResultKind.Interrupted)] = 1,
        }.ToImmutableDictionary();

    [Theory]
    [MemberData(nameof(States))]
    public void Promtool_check_metrics_accepts_the_exposition_of_every_state(string state)
    {
        var text = MetricsRenderer.Render(Input(ViewOf(state), ["lp_cve_fix", "lp_missing"], SomeOperations));

        var (exit, output) = PrometheusTools.CheckMetrics(text);

        Assert.True(exit == 0 && output.Trim().Length == 0, $"promtool check metrics ({state}) exited {exit}:\n{output}\n---\n{text}");
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Promtool_check_metrics_is_a_real_check_that_rejects_a_broken_exposition()
    {
        var text = MetricsRenderer.Render(Input(Idle())) + "livepatchd_bad{label=\"unterminated} 1\n";

        var (exit, _) = PrometheusTools.CheckMetrics(text);

        Assert.NotEqual(0, exit);
    }

    [Fact]
    public void A_stalled_transition_shows_its_patch_direction_tasks_and_pins()
    {
        var text = MetricsRenderer.Render(Input(Stalled()));

        Assert.Contains("livepatchd_state{state=\"stalled\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_state{state=\"idle\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_transition_running 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_transition_stalled 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_transition_info{patch=\"lp_new\",direction=\"patching\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_transition_blocking_tasks 3\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_transition_tasks_pending 7\n", text, StringComparison.Ordinal);
        // The transition was first seen at T0 (the snapshot's time); the rendering is at T0 + 42 s.
        Assert.Contains("livepatchd_transition_duration_seconds 42\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_pinned_modules 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_patches{state=\"stalled\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_patch_info{patch=\"lp_new\",state=\"stalled\",", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Idle_has_no_transition_series_but_every_family()
    {
        var text = MetricsRenderer.Render(Input(Idle()));

        Assert.Contains("livepatchd_transition_running 0\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("livepatchd_transition_info{", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE livepatchd_transition_info gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_info{version=\"0.1.0\",kernel_release=\"6.1.0-56-amd64\",boot_id=\"0d6b2c1e-1f2a-4b3c-9d4e-5f6a7b8c9d0e\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_last_update_timestamp_seconds 1796457642\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_metrics_refresh_interval_seconds 60\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_kernel_taint{flag=\"K\",bit=\"15\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_kernel_taint{flag=\"P\",bit=\"0\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_posture_available 0\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_transitions_total{direction=\"patching\"} 3\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Degraded_names_each_source_and_the_interrupted_apply()
    {
        var text = MetricsRenderer.Render(Input(Degraded()));

        Assert.Contains("livepatchd_degraded 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_degraded_reason{source=\"dbus\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_degraded_reason{source=\"crash-loop-guard\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_startup_apply_phase{phase=\"interrupted\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_startup_apply_patches{outcome=\"failed\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Many_patches_give_one_info_series_each_with_the_verified_metadata_and_the_posture_counts()
    {
        var text = MetricsRenderer.Render(Input(ManyPatches(), ["lp_many_00", "lp_superseded", "lp_gone"]));

        Assert.Equal(40, text.Split('\n').Count(l => l.StartsWith("livepatchd_patch_info{", StringComparison.Ordinal)));
        Assert.Contains("livepatchd_patch_info{patch=\"lp_many_01\",state=\"enabled\",cves=\"CVE-2026-0001,CVE-2026-0002\",level=\"3\",fixes_version=\"6.1.194-1\",metadata_source=\"signed\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_patch_info{patch=\"lp_many_20\",state=\"disabled\",cves=\"\",level=\"\",fixes_version=\"\",metadata_source=\"\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_patches{state=\"enabled\"} 30\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_patches{state=\"disabled\"} 10\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_cves{state=\"open\",severity=\"critical\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_cves{state=\"open\",severity=\"medium\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_cves{state=\"fixed-live\",severity=\"high\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_cves{state=\"open\",severity=\"high\"} 0\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_posture_available 1\n", text, StringComparison.Ordinal);
        // lp_many_00 is registered, lp_superseded was left out by the apply: only lp_gone is drift.
        Assert.Contains("livepatchd_installed_patches 3\n", text, StringComparison.Ordinal);
        Assert.Contains("livepatchd_installed_patches_not_loaded 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Operations_are_counted_by_kind_and_outcome_with_the_alerted_ones_always_present()
    {
        var quiet = MetricsRenderer.Render(Input(Idle()));
        var busy = MetricsRenderer.Render(Input(Idle(), operations: new Dictionary<(OperationKind, OperationResultKind), long>
        {
            [(OperationKind.Load, OperationResultKind.Completed)] = 4,
            [(OperationKind.Load, OperationResultKind.Refused)] = 1,
        }));

        Assert.Contains("livepatchd_operations_total{kind=\"force\",outcome=\"forced\"} 0\n", quiet, StringComparison.Ordinal);
        Assert.Contains("livepatchd_operations_total{kind=\"startup-apply\",outcome=\"completed\"} 0\n", quiet, StringComparison.Ordinal);
        Assert.DoesNotContain("outcome=\"refused\"", quiet, StringComparison.Ordinal);
        Assert.Contains("livepatchd_operations_total{kind=\"load\",outcome=\"completed\"} 4\n", busy, StringComparison.Ordinal);
        Assert.Contains("livepatchd_operations_total{kind=\"load\",outcome=\"refused\"} 1\n", busy, StringComparison.Ordinal);
    }

    [Fact]
    public void Label_values_escape_backslash_quote_and_newline_and_help_escapes_backslash_and_newline()
    {
        var text = new Exposition()
            .Family("x_info", "gauge", "a \\ help\nline")
            .Sample("x_info", 1, ("v", "a\"b\\c\nd"))
            .ToString();

        Assert.Equal("# HELP x_info a \\\\ help\\nline\n# TYPE x_info gauge\nx_info{v=\"a\\\"b\\\\c\\nd\"} 1\n", text);
        var (exit, output) = PrometheusTools.CheckMetrics(text);
        Assert.True(exit == 0, output);
    }

    [Theory]
    [InlineData(0, "0")]
    [InlineData(42, "42")]
    [InlineData(1764921642.125, "1764921642.125")]
    [InlineData(0.5, "0.5")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    public void Values_are_formatted_invariantly(double value, string expected) =>
        Assert.Equal(expected, Exposition.FormatValue(value));

    [Fact]
    public void A_family_cannot_be_written_twice()
    {
        var x = new Exposition().Family("a", "gauge", "a");

        Assert.Throws<InvalidOperationException>(() => x.Family("a", "gauge", "again"));
    }
}

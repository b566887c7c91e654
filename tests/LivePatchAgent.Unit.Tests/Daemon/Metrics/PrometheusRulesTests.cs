using System.Text.Json;
using System.Text.RegularExpressions;

namespace LivePatchAgent.Unit.Tests.Daemon.Metrics;

/// <summary>
/// The shipped rules and dashboard: promtool check rules and promtool test rules (which fire and resolve every
/// alert), and the links and names they rely on.
/// </summary>
public sealed partial class PrometheusRulesTests
{
    private const string Rules = "packaging/prometheus/livepatchd.rules.yml";
    private const string RuleTests = "packaging/prometheus/tests/livepatchd.rules.test.yml";

    private static string[] Alerts() =>
        [.. AlertLine().Matches(PrometheusTools.ReadRepoFile(Rules)).Select(m => m.Groups[1].Value)];

    [Fact]
    public void Promtool_check_rules_accepts_the_rules()
    {
        var (exit, output) = PrometheusTools.RunPromtool(null, null, "check", "rules", PrometheusTools.RepoPath(Rules));

        Assert.True(exit == 0, output);
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Promtool_test_rules_passes_and_fires_and_resolves_every_alert()
    {
        var directory = Path.GetDirectoryName(PrometheusTools.RepoPath(Rules))!;
        var (exit, output) = PrometheusTools.RunPromtool(null, directory, "test", "rules", "tests/livepatchd.rules.test.yml");
        var tests = PrometheusTools.ReadRepoFile(RuleTests);

        Assert.True(exit == 0, output);
        Assert.All(Alerts(), alert =>
        {
            var evaluations = Regex.Matches(tests, $@"alertname: {alert}\n\s+exp_alerts:(?<exp>.*?)(?=\n\s+- eval_time|\n\s*\n|\z)", RegexOptions.Singleline);
            Assert.Contains(evaluations, e => e.Groups["exp"].Value.Contains("exp_labels", StringComparison.Ordinal));
            Assert.Contains(evaluations, e => e.Groups["exp"].Value.Trim() == "[]");
        });
    }

    [Fact]
    public void Every_alert_has_a_summary_a_description_and_a_runbook_anchor_that_exists_in_operations_md()
    {
        var rules = PrometheusTools.ReadRepoFile(Rules);
        var operations = PrometheusTools.ReadRepoFile("docs/operations.md");
        var alerts = Alerts();

        Assert.Equal(9, alerts.Length);
        foreach (var alert in alerts)
        {
            var block = rules[rules.IndexOf($"alert: {alert}\n", StringComparison.Ordinal)..];
            var next = block.IndexOf("- alert:", 10, StringComparison.Ordinal);
            block = next < 0 ? block : block[..next];
            Assert.Contains("summary:", block, StringComparison.Ordinal);
            Assert.Contains("description:", block, StringComparison.Ordinal);
            var anchor = $"alert-{alert.ToLowerInvariant()}";
            Assert.Contains($"operations.md#{anchor}\"", block, StringComparison.Ordinal);
            Assert.Contains($"### Alert: {alert}\n", operations, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_dashboard_is_grafana_json_whose_queries_use_only_documented_metrics_and_recording_rules()
    {
        using var dashboard = JsonDocument.Parse(PrometheusTools.ReadRepoFile("packaging/grafana/livepatchd-fleet.json"));
        var metricsDoc = PrometheusTools.ReadRepoFile("docs/metrics.md");
        var rules = PrometheusTools.ReadRepoFile(Rules);
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();

        Assert.Equal("livepatchd-fleet", dashboard.RootElement.GetProperty("uid").GetString());
        Assert.True(expressions.Count >= 10);
        foreach (var name in expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).Distinct())
        {
            Assert.True(name.Contains(':', StringComparison.Ordinal) ? rules.Contains($"record: {name}\n", StringComparison.Ordinal) : metricsDoc.Contains($"`{name}`", StringComparison.Ordinal),
                $"{name} is neither a recording rule nor documented in docs/metrics.md");
        }
    }

    [Fact]
    public void Every_metric_the_daemon_writes_is_documented_in_metrics_md()
    {
        var text = LivePatchAgent.Daemon.Metrics.MetricsRenderer.Render(MetricsFixtures.Input(MetricsFixtures.ManyPatches()));
        var doc = PrometheusTools.ReadRepoFile("docs/metrics.md");

        foreach (var family in text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]))
        {
            Assert.Contains($"`{family}`", doc, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"- alert: (\w+)")]
    private static partial Regex AlertLine();

    [GeneratedRegex(@"\b(?:[a-z_]+:)?livepatchd_[a-z_0-9]+(?::[a-z_0-9]+)*")]
    private static partial Regex MetricName();
}

using LivePatchAgent.Bench.Measurement;

namespace LivePatchAgent.Bench.Suites;

/// <summary>
/// One measured quantity: the median and p99 (where repeated samples make one meaningful) over <c>Runs</c> samples,
/// with the target it is held to, if any.
/// </summary>
internal sealed record BenchRow(string Suite, string Case, string Metric, string Unit, double Median, double? P99, int Runs)
{
    /// <summary>The target in words, e.g. "&lt;= 2x hello-world".</summary>
    public string? Target { get; init; }

    /// <summary>"met" or "missed" when there is a target.</summary>
    public string? Verdict { get; init; }

    public string? Note { get; init; }

    public static BenchRow From(string suite, string @case, string metric, string unit, Distribution d) =>
        new(suite, @case, metric, unit, d.Median, d.P99, d.Count);

    public BenchRow Held(string target, bool met) => this with { Target = target, Verdict = met ? "met" : "missed" };
}

/// <summary>What <c>lpbench run</c> ran with.</summary>
internal sealed record BenchSettings(string Daemon, string Lpctl, string Hello, double IdleSeconds, bool Quick, IReadOnlyList<string> Suites);

/// <summary>The result file of <c>make bench</c>.</summary>
internal sealed record BenchReport(int SchemaVersion, string Kind, DateTimeOffset StartedAt, MachineInfo Machine, BenchSettings Settings, IReadOnlyList<BenchRow> Rows)
{
    public void Print(TextWriter output)
    {
        TextTable.Print(output, ["suite", "case", "metric", "median", "p99", "runs", "target", "verdict"],
            Rows.Select(r => new[]
            {
                r.Suite, r.Case, r.Metric, Format(r.Median, r.Unit), r.P99 is { } p99 ? Format(p99, r.Unit) : "-",
                r.Runs.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Target ?? "", r.Verdict ?? "",
            }));
        output.WriteLine($"machine: {Machine}; load at end {Machine.LoadAverageAtEnd}");
    }

    private static string Format(double value, string unit) => unit switch
    {
        "x" => $"{value:0.00}x",
        "%" => $"{value:0.00}%",
        _ when value >= 100 => $"{value:0} {unit}",
        _ when value >= 10 => $"{value:0.0} {unit}",
        _ => $"{value:0.000} {unit}",
    };
}

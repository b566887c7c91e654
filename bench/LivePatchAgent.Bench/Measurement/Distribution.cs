namespace LivePatchAgent.Bench.Measurement;

/// <summary>A summary of repeated measurements: nearest-rank percentiles over every sample, no outlier removal.</summary>
internal sealed record Distribution(int Count, double Median, double P99, double Min, double Max, double Mean)
{
    public static Distribution Empty { get; } = new(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);

    public static Distribution Of(IEnumerable<double> samples)
    {
        var sorted = samples.ToArray();
        if (sorted.Length == 0)
        {
            return Empty;
        }

        Array.Sort(sorted);
        return new Distribution(sorted.Length, Percentile(sorted, 50), Percentile(sorted, 99), sorted[0], sorted[^1], sorted.Average());
    }

    /// <summary>The nearest-rank percentile of an ascending array.</summary>
    public static double Percentile(double[] sorted, double percent)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(percent / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

using System.Globalization;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// The CVSS v3.0/v3.1 base score of a vector string, by the formula of the specification (section 7.1 of v3.1).
/// Only the base metrics count; temporal and environmental metrics in the vector are ignored, because an advisory's
/// vector rates the flaw, not this host. CVSS v4 is not computed: its score comes from a lookup table of macro
/// vectors rather than a formula, so a v4 vector alone gives no band here and the advisory falls back to its
/// other sources.
/// </summary>
public static class CvssV3
{
    /// <summary>The base score (0.0 to 10.0), or false when the vector is not a complete, valid CVSS v3 vector.</summary>
    public static bool TryBaseScore(string vector, out double score)
    {
        // Thousands of advisories carry a handful of distinct vectors: the parse allocates nothing.
        score = 0;
        var text = vector.AsSpan().Trim();
        bool v30;
        if (text.StartsWith("CVSS:3.1/", StringComparison.Ordinal))
        {
            v30 = false;
        }
        else if (text.StartsWith("CVSS:3.0/", StringComparison.Ordinal))
        {
            v30 = true;
        }
        else
        {
            return false;
        }

        // AV, AC, PR, UI, S, C, I, A; '\0' until seen.
        Span<char> values = stackalloc char[8];
        values.Clear();
        var metrics = text["CVSS:3.x/".Length..];
        foreach (var range in metrics.Split('/'))
        {
            var part = metrics[range];
            var colon = part.IndexOf(':');
            if (colon <= 0 || colon == part.Length - 1)
            {
                return false;
            }

            var index = BaseMetricIndex(part[..colon]);
            if (index < 0)
            {
                continue;
            }

            if (part.Length != colon + 2 || values[index] != '\0')
            {
                return false;
            }

            values[index] = part[colon + 1];
        }

        var changed = values[4] switch
        {
            'U' => false,
            'C' => true,
            _ => (bool?)null,
        };
        double? av = values[0] switch { 'N' => 0.85, 'A' => 0.62, 'L' => 0.55, 'P' => 0.2, _ => null };
        double? ac = values[1] switch { 'L' => 0.77, 'H' => 0.44, _ => null };
        double? pr = values[2] switch
        {
            'N' => 0.85,
            'L' => changed == true ? 0.68 : 0.62,
            'H' => changed == true ? 0.5 : 0.27,
            _ => null,
        };
        double? ui = values[3] switch { 'N' => 0.85, 'R' => 0.62, _ => null };
        var c = Impact(values[5]);
        var i = Impact(values[6]);
        var a = Impact(values[7]);
        if (changed is null || av is null || ac is null || pr is null || ui is null || c is null || i is null || a is null)
        {
            return false;
        }

        var iss = 1 - ((1 - c.Value) * (1 - i.Value) * (1 - a.Value));
        var impact = changed.Value
            ? (7.52 * (iss - 0.029)) - (3.25 * Math.Pow(iss - 0.02, 15))
            : 6.42 * iss;
        var exploitability = 8.22 * av.Value * ac.Value * pr.Value * ui.Value;
        if (impact <= 0)
        {
            score = 0;
            return true;
        }

        var raw = changed.Value ? Math.Min(1.08 * (impact + exploitability), 10) : Math.Min(impact + exploitability, 10);
        score = v30 ? Math.Ceiling(raw * 10) / 10 : RoundUp(raw);
        return true;
    }

    /// <summary>The band of a vector, or Unknown when it is not a valid v3 vector.</summary>
    public static Severity Band(string vector) =>
        TryBaseScore(vector, out var score) ? SeverityScale.FromScore(score) : Severity.Unknown;

    /// <summary>A score given as a number where a vector belongs (some producers do): its band, else Unknown.</summary>
    internal static Severity BandOfNumber(string text) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var score)
            ? SeverityScale.FromScore(score)
            : Severity.Unknown;

    private static double? Impact(char value) => value switch { 'H' => 0.56, 'L' => 0.22, 'N' => 0, _ => null };

    private static int BaseMetricIndex(ReadOnlySpan<char> key) => key switch
    {
        "AV" => 0,
        "AC" => 1,
        "PR" => 2,
        "UI" => 3,
        "S" => 4,
        "C" => 5,
        "I" => 6,
        "A" => 7,
        _ => -1,
    };

    /// <summary>
    /// CVSS v3.1 Roundup: the smallest number with one decimal that is not below the input, computed on integers
    /// so that floating-point error (4.000000000000001) does not round 4.0 up to 4.1.
    /// </summary>
    private static double RoundUp(double value)
    {
        var whole = (long)Math.Round(value * 100_000);
        return whole % 10_000 == 0 ? whole / 100_000.0 : (Math.Floor(whole / 10_000.0) + 1) / 10.0;
    }
}

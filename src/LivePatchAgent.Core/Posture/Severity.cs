using System.Globalization;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// One severity band for every source: the CVSS qualitative scale (none, low, medium, high, critical) plus
/// <see cref="Unknown"/> for an advisory no source rated. Unknown is not None: CVSS "none" says there is no impact,
/// while a Debian "not yet assigned" says nobody has looked. The numeric order is the order of concern, except that
/// Unknown sorts lowest so that "the highest open severity" names a rated band when there is one.
/// </summary>
public enum Severity
{
    Unknown = 0,
    None = 1,
    Low = 2,
    Medium = 3,
    High = 4,
    Critical = 5,
}

/// <summary>
/// What an advisory (or one of its affected entries) says about severity, kept apart by kind: the distribution's
/// own rating in words, and the band of its CVSS vectors. The distribution rated the issue for the package it
/// builds and ships (its configuration, its mitigations), so its word wins; CVSS describes the upstream flaw.
/// </summary>
/// <param name="Vendor">
/// The highest distribution word: Debian <c>urgency</c>, Ubuntu <c>ubuntu_priority</c> and the <c>Ubuntu</c> severity
/// type, Red Hat/AlmaLinux/Rocky <c>severity</c> ("Important"). Unknown when there is none.
/// </param>
/// <param name="Cvss">The highest band of the CVSS v3 vectors (computed from the vector), or Unknown.</param>
public readonly record struct SeverityRating(Severity Vendor, Severity Cvss)
{
    /// <summary>The distribution's word when it gave one, else the CVSS band.</summary>
    public Severity Effective => Vendor != Severity.Unknown ? Vendor : Cvss;

    /// <summary>Each kind at its highest of the two.</summary>
    public SeverityRating Max(SeverityRating other) =>
        new(SeverityScale.Max(Vendor, other.Vendor), SeverityScale.Max(Cvss, other.Cvss));
}

/// <summary>Turns the words and scores of the advisory sources into <see cref="Severity"/>.</summary>
public static class SeverityScale
{
    public static Severity Max(Severity a, Severity b) => a >= b ? a : b;

    /// <summary>
    /// A rating word, case-insensitive and with Debian's trailing "*" marks ignored: critical; high and important
    /// (Red Hat); medium and moderate (Red Hat); low and negligible (Ubuntu: "technically a security problem, but
    /// only theoretical"); none and unimportant (Debian: does not affect the binary packages). A number from 0 to
    /// 10 is read as a CVSS score, as some producers put one there. Anything else ("not yet assigned", "untriaged",
    /// "end-of-life") is Unknown.
    /// </summary>
    public static Severity FromWord(string? word)
    {
        if (string.IsNullOrWhiteSpace(word))
        {
            return Severity.Unknown;
        }

        var text = word.Trim().TrimEnd('*').Trim();
        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var score))
        {
            return FromScore(score);
        }

        return text.ToUpperInvariant() switch
        {
            "CRITICAL" => Severity.Critical,
            "HIGH" or "IMPORTANT" => Severity.High,
            "MEDIUM" or "MODERATE" => Severity.Medium,
            "LOW" or "NEGLIGIBLE" => Severity.Low,
            "NONE" or "UNIMPORTANT" => Severity.None,
            _ => Severity.Unknown,
        };
    }

    /// <summary>The CVSS v3 qualitative band of a base score; outside 0..10 (or NaN) is Unknown.</summary>
    public static Severity FromScore(double score) => score switch
    {
        < 0 or > 10 or double.NaN => Severity.Unknown,
        0 => Severity.None,
        < 4 => Severity.Low,
        < 7 => Severity.Medium,
        < 9 => Severity.High,
        _ => Severity.Critical,
    };

    /// <summary>The lower-case word used in output and documentation.</summary>
    public static string ToText(this Severity severity) => severity switch
    {
        Severity.None => "none",
        Severity.Low => "low",
        Severity.Medium => "medium",
        Severity.High => "high",
        Severity.Critical => "critical",
        _ => "unknown",
    };
}

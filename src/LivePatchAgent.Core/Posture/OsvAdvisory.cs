using System.Collections.Immutable;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// One OSV record (the Open Source Vulnerability schema, as published by Debian, Ubuntu, AlmaLinux, Rocky and Red Hat)
/// with the fields the posture needs. Fields that are read:
/// <list type="bullet">
/// <item><c>id</c>, <c>aliases</c>, <c>upstream</c>, <c>related</c>: the ids a patch's declared CVE ids are matched
/// against (<see cref="CveIds"/>), and the advisory's name in the posture.</item>
/// <item><c>summary</c>, <c>details</c>: the one line shown per advisory.</item>
/// <item><c>modified</c>: which copy wins when the same id is in two files; <c>published</c> for display.</item>
/// <item><c>withdrawn</c>: a withdrawn record is dropped (after de-duplication, so a withdrawal in a newer copy
/// removes an older live copy).</item>
/// <item><c>severity[]</c>, <c>database_specific.severity</c>, and per affected entry <c>severity[]</c>,
/// <c>ecosystem_specific</c>/<c>database_specific</c> <c>severity</c>, <c>urgency</c>, <c>ubuntu_priority</c>,
/// <c>priority</c>: the <see cref="Rating"/>.</item>
/// <item><c>affected[]</c>: package (ecosystem, name, purl), ranges and explicit versions.</item>
/// </list>
/// Everything else (references, credits, schema_version, ecosystem_specific.binaries ...) is not kept. Parsed records
/// are shared and never changed; equality is by reference.
/// </summary>
public sealed class OsvAdvisory
{
    private ImmutableArray<string> _cveIds;

    public required string Id { get; init; }

    /// <summary>Other ids of the same vulnerability.</summary>
    public ImmutableArray<string> Aliases { get; init; } = [];

    /// <summary>The ids this record was derived from (Ubuntu and Debian put the CVE ids of a notice here).</summary>
    public ImmutableArray<string> Upstream { get; init; } = [];

    /// <summary>Ids of closely related, but distinct, vulnerabilities.</summary>
    public ImmutableArray<string> Related { get; init; } = [];

    public string? Summary { get; init; }

    public string? Details { get; init; }

    public required DateTimeOffset Modified { get; init; }

    public DateTimeOffset? Published { get; init; }

    public DateTimeOffset? Withdrawn { get; init; }

    /// <summary>The record-level rating (top-level <c>severity[]</c> and <c>database_specific.severity</c>).</summary>
    public SeverityRating Rating { get; init; }

    public ImmutableArray<OsvAffected> Affected { get; init; } = [];

    /// <summary>The file this copy was read from, or null when it was built in memory.</summary>
    public string? SourceFile { get; init; }

    public bool IsWithdrawn => Withdrawn is not null;

    /// <summary>
    /// The CVE ids this record is about, upper case and without repeats: every id among <see cref="Id"/>,
    /// <see cref="Aliases"/>, <see cref="Upstream"/> and <see cref="Related"/> that is a CVE id or ends in one after a
    /// dash (<c>DEBIAN-CVE-2024-1234</c>, <c>UBUNTU-CVE-2024-1234</c> are that CVE). Related ids count because
    /// notices of some producers list their CVEs there; counting them can only make "covered by a patch" harder to
    /// reach, never easier.
    /// </summary>
    public ImmutableArray<string> CveIds
    {
        get
        {
            if (_cveIds.IsDefault)
            {
                var ids = new List<string>();
                foreach (var id in Enumerable.Concat([Id], Aliases).Concat(Upstream).Concat(Related))
                {
                    if (CveId.Extract(id) is { } cve && !ids.Contains(cve))
                    {
                        ids.Add(cve);
                    }
                }

                _cveIds = [.. ids];
            }

            return _cveIds;
        }
    }

    /// <summary>
    /// The line shown for this advisory: the summary, else the first line of the details, at most 200 characters.
    /// Debian's per-CVE records have no summary.
    /// </summary>
    public string? Headline
    {
        get
        {
            var text = !string.IsNullOrWhiteSpace(Summary) ? Summary : Details;
            if (string.IsNullOrWhiteSpace(text))
            {
                return null;
            }

            var line = text.AsSpan().Trim();
            var newline = line.IndexOfAny('\r', '\n');
            if (newline >= 0)
            {
                line = line[..newline].TrimEnd();
            }

            return line.Length <= 200 ? line.ToString() : string.Concat(line[..199], "…");
        }
    }

    public override string ToString() => Id;
}

/// <summary>One entry of <c>affected[]</c>: a package and the versions of it the vulnerability affects.</summary>
/// <param name="Package">Null when the entry names none (allowed for GIT-only ranges); such an entry never matches.</param>
/// <param name="Ranges">Every range, GIT and SEMVER included; only ECOSYSTEM ranges are evaluated.</param>
/// <param name="Versions">Versions named as affected one by one, compared as exact strings.</param>
/// <param name="Rating">The entry's own rating (Ubuntu and Debian rate per package).</param>
public sealed record OsvAffected(OsvPackage? Package, ImmutableArray<OsvRange> Ranges, ImmutableArray<string> Versions, SeverityRating Rating)
{
    /// <summary>True when an ECOSYSTEM range or an explicit version list says something about versions.</summary>
    public bool HasVersionData => !Versions.IsEmpty || Ranges.Any(r => r.IsEcosystem);
}

/// <param name="Ecosystem">The OSV ecosystem, e.g. <c>Debian:12</c>, <c>Ubuntu:Pro:22.04:LTS</c>, <c>AlmaLinux:9</c>.</param>
/// <param name="Name">The package name in that ecosystem: a source package (<c>linux</c>) or rpm name (<c>kernel</c>).</param>
/// <param name="Purl">The package URL, kept for display; matching uses ecosystem and name.</param>
public sealed record OsvPackage(string Ecosystem, string Name, string? Purl = null);

/// <param name="Type">ECOSYSTEM, SEMVER or GIT (kept as written; an unknown type is kept and never evaluated).</param>
/// <param name="Events">The events in the producer's order; evaluation sorts them.</param>
public sealed record OsvRange(string Type, ImmutableArray<OsvEvent> Events)
{
    /// <summary>Only ECOSYSTEM ranges are in the package's own version order; GIT ranges name commits, SEMVER
    /// ranges semantic versions that distribution package versions are not.</summary>
    public bool IsEcosystem => Type == "ECOSYSTEM";
}

/// <summary>One event of a range: the version where something starts or ends.</summary>
public readonly record struct OsvEvent(OsvEventKind Kind, string Version);

public enum OsvEventKind
{
    /// <summary>Affected from this version on; "0" means from the first version.</summary>
    Introduced,

    /// <summary>Not affected from this version on.</summary>
    Fixed,

    /// <summary>The last affected version; later ones are not affected, but no fixed version is named.</summary>
    LastAffected,

    /// <summary>The range describes nothing at or above this version ("*": no limit).</summary>
    Limit,
}

/// <summary>CVE ids inside other ids.</summary>
internal static class CveId
{
    /// <summary>
    /// The CVE id <paramref name="id"/> is or ends with after a dash, upper case; null if none. "CVE-" must be
    /// followed by a four-digit year, a dash and at least four digits, to the end of the id.
    /// </summary>
    public static string? Extract(string id)
    {
        var start = 0;
        while (true)
        {
            var at = id.IndexOf("CVE-", start, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                return null;
            }

            if ((at == 0 || id[at - 1] == '-') && IsCveTail(id.AsSpan(at + 4)))
            {
                return string.Concat("CVE-", id.AsSpan(at + 4));
            }

            start = at + 1;
        }
    }

    /// <summary>The same id in the form <see cref="OsvAdvisory.CveIds"/> uses, for ids a patch declares.</summary>
    public static string Normalize(string id) => Extract(id.Trim()) ?? id.Trim().ToUpperInvariant();

    private static bool IsCveTail(ReadOnlySpan<char> tail)
    {
        if (tail.Length < 9 || tail[4] != '-' || !char.IsAsciiDigit(tail[0]) || !char.IsAsciiDigit(tail[1])
            || !char.IsAsciiDigit(tail[2]) || !char.IsAsciiDigit(tail[3]))
        {
            return false;
        }

        foreach (var c in tail[5..])
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}

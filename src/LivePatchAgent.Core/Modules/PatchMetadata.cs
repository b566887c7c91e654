using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace LivePatchAgent.Core.Modules;

/// <summary>Where one piece of a patch's security metadata came from (docs/patch-authoring.md, "Trust").</summary>
public enum MetadataSource
{
    /// <summary>Nobody said anything.</summary>
    None,

    /// <summary>
    /// The module's own .modinfo (<c>MODULE_INFO(livepatch_cve, ...)</c>), and its signature verified against a
    /// trusted certificate: .modinfo lies inside the signed bytes, so the metadata is as trusted as the signer.
    /// </summary>
    SignedModinfo,

    /// <summary>The module's own .modinfo, but no trusted signature covers it (Verification:RequireSignature=false).</summary>
    UnsignedModinfo,

    /// <summary>What the operator said at <c>lpctl install</c> time (<c>--cve</c>, <c>--meta</c>); nothing checked it.</summary>
    Operator,
}

/// <summary>The .modinfo keys of a patch's security metadata.</summary>
public static class PatchMetadataKeys
{
    /// <summary>
    /// Every key starts with this. The kernel's own key is <c>livepatch</c> (no underscore), and neither modpost nor
    /// the kernel writes any <c>livepatch_*</c> key, so the names cannot clash with theirs.
    /// </summary>
    public const string Prefix = "livepatch_";

    /// <summary>One CVE id per entry; repeat the key for each (<c>MODULE_INFO</c> may repeat).</summary>
    public const string Cve = "livepatch_cve";

    /// <summary>One line saying what the patch fixes.</summary>
    public const string Summary = "livepatch_summary";

    /// <summary>The patch's level: a decimal integer, higher for a newer cumulative patch of the same line.</summary>
    public const string Level = "livepatch_level";

    /// <summary>The kernel package version whose fixes this (cumulative) patch carries, e.g. <c>6.1.194-1</c>.</summary>
    public const string FixesVersion = "livepatch_fixes_version";

    public static ImmutableArray<string> All { get; } = [Cve, Summary, Level, FixesVersion];
}

/// <summary>
/// A patch's security metadata: the CVE ids it fixes, a one-line summary, its level and the kernel package version
/// whose fixes it carries, each with where it came from. The module declares it in .modinfo
/// (<see cref="FromModInfo"/>); the operator may add what the module leaves out at install time
/// (<see cref="Merge"/>). <see cref="Source"/> is the least trusted source of the fields present, so a consumer
/// that reads only it never takes an operator's or an unsigned claim for a signed one.
/// </summary>
public sealed partial record PatchMetadata
{
    /// <summary>At most this many CVE ids; a cumulative patch carries dozens, not thousands.</summary>
    public const int MaxCveIds = 1024;

    /// <summary>The longest summary, in UTF-16 code units: one line in a table.</summary>
    public const int MaxSummaryLength = 200;

    /// <summary>The longest fixes version (Debian allows more, but no kernel package comes close).</summary>
    public const int MaxFixesVersionLength = 64;

    public static PatchMetadata None { get; } = new();

    /// <summary>
    /// The CVE ids, each once, by year and then number: the order of .modinfo entries is the linker's (it may
    /// reverse the source's), so it carries no meaning.
    /// </summary>
    public ImmutableArray<string> CveIds { get; init; } = [];

    public MetadataSource CveIdsSource { get; init; }

    public string? Summary { get; init; }

    public MetadataSource SummarySource { get; init; }

    /// <summary>The level (the operator's "cumulative version"); of several installed cumulative patches the highest is applied.</summary>
    public ulong? Level { get; init; }

    public MetadataSource LevelSource { get; init; }

    /// <summary>
    /// The kernel package version whose security fixes this patch carries: a patch with <c>6.1.194-1</c> brings an
    /// older 6.1 kernel of the same line up to the fixes of 6.1.194-1.
    /// </summary>
    public string? FixesVersion { get; init; }

    public MetadataSource FixesVersionSource { get; init; }

    /// <summary>What was odd but harmless in the module's declaration (a repeated CVE id, an unknown livepatch_ key).</summary>
    public ImmutableArray<string> Warnings { get; init; } = [];

    public bool IsEmpty => CveIds.IsEmpty && Summary is null && Level is null && FixesVersion is null;

    /// <summary>
    /// The least trusted source of the fields present (signed, then operator, then unsigned modinfo);
    /// <see cref="MetadataSource.None"/> when no field is present.
    /// </summary>
    public MetadataSource Source
    {
        get
        {
            MetadataSource[] present =
            [
                CveIds.IsEmpty ? MetadataSource.None : CveIdsSource,
                Summary is null ? MetadataSource.None : SummarySource,
                Level is null ? MetadataSource.None : LevelSource,
                FixesVersion is null ? MetadataSource.None : FixesVersionSource,
            ];
            return present.Where(s => s != MetadataSource.None).OrderBy(Trust).FirstOrDefault();
        }
    }

    /// <summary>
    /// The module's declaration from its .modinfo, every field marked <paramref name="source"/>
    /// (<see cref="MetadataSource.SignedModinfo"/> only when a trusted signature covers the module). Values that break
    /// the rules are errors, and none of the module's metadata is then taken: a malformed CVE id never passes.
    /// </summary>
    public static PatchMetadataReading FromModInfo(ModuleInfo info, MetadataSource source)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (source is not (MetadataSource.SignedModinfo or MetadataSource.UnsignedModinfo))
        {
            throw new ArgumentOutOfRangeException(nameof(source), source, "module metadata is signed or unsigned-modinfo");
        }

        var errors = ImmutableArray.CreateBuilder<string>();
        var warnings = ImmutableArray.CreateBuilder<string>();

        var cves = new List<string>();
        foreach (var id in info.LivepatchCves)
        {
            if (CveIdProblem(id) is { } problem)
            {
                errors.Add($"{PatchMetadataKeys.Cve}={DisplayText.Quote(id)} {problem}");
            }
            else if (cves.Contains(id, StringComparer.Ordinal))
            {
                warnings.Add($"{PatchMetadataKeys.Cve}={id} is declared more than once; it counts once");
            }
            else
            {
                cves.Add(id);
            }
        }

        if (cves.Count > MaxCveIds)
        {
            errors.Add($"{cves.Count} CVE ids are declared; at most {MaxCveIds} are accepted");
        }

        var summary = Single(info, PatchMetadataKeys.Summary, errors);
        if (summary is not null && SummaryProblem(summary) is { } summaryProblem)
        {
            errors.Add($"{PatchMetadataKeys.Summary}={DisplayText.Quote(summary)} {summaryProblem}");
        }

        ulong? level = null;
        if (Single(info, PatchMetadataKeys.Level, errors) is { } levelText)
        {
            if (LevelProblem(levelText, out var parsed) is { } levelProblem)
            {
                errors.Add($"{PatchMetadataKeys.Level}={DisplayText.Quote(levelText)} {levelProblem}");
            }
            else
            {
                level = parsed;
            }
        }

        var fixes = Single(info, PatchMetadataKeys.FixesVersion, errors);
        if (fixes is not null && FixesVersionProblem(fixes) is { } fixesProblem)
        {
            errors.Add($"{PatchMetadataKeys.FixesVersion}={DisplayText.Quote(fixes)} {fixesProblem}");
        }

        foreach (var key in info.Entries.Select(e => e.Key).Distinct(StringComparer.Ordinal))
        {
            if (key.StartsWith(PatchMetadataKeys.Prefix, StringComparison.Ordinal) && !PatchMetadataKeys.All.Contains(key))
            {
                warnings.Add($"{DisplayText.Quote(key)} is not a metadata key livepatchd knows ({string.Join(", ", PatchMetadataKeys.All)}); it is ignored");
            }
        }

        if (errors.Count > 0)
        {
            return new PatchMetadataReading(None with { Warnings = warnings.ToImmutable() }, errors.ToImmutable());
        }

        var metadata = new PatchMetadata
        {
            CveIds = [.. cves.Order(CveIdComparer.Instance)],
            CveIdsSource = cves.Count > 0 ? source : MetadataSource.None,
            Summary = summary,
            SummarySource = summary is null ? MetadataSource.None : source,
            Level = level,
            LevelSource = level is null ? MetadataSource.None : source,
            FixesVersion = fixes,
            FixesVersionSource = fixes is null ? MetadataSource.None : source,
            Warnings = warnings.ToImmutable(),
        };
        return new PatchMetadataReading(metadata, []);
    }

    /// <summary>
    /// What the operator said at install time (the manifest's description, CVE ids and cumulative version), every
    /// field marked <see cref="MetadataSource.Operator"/>. The daemon checked the CVE ids when it accepted them.
    /// </summary>
    public static PatchMetadata FromOperator(string? description, IEnumerable<string>? cveIds, ulong? cumulativeVersion)
    {
        ImmutableArray<string> cves = [.. (cveIds ?? []).Distinct(StringComparer.Ordinal).Order(CveIdComparer.Instance)];
        var summary = string.IsNullOrWhiteSpace(description) ? null : description;
        return new PatchMetadata
        {
            CveIds = cves,
            CveIdsSource = cves.IsEmpty ? MetadataSource.None : MetadataSource.Operator,
            Summary = summary,
            SummarySource = summary is null ? MetadataSource.None : MetadataSource.Operator,
            Level = cumulativeVersion,
            LevelSource = cumulativeVersion is null ? MetadataSource.None : MetadataSource.Operator,
        };
    }

    /// <summary>
    /// The merge rule: each field the module declares is taken from the module (signed or not); a field it leaves
    /// out is taken from the operator. The module's CVE list is taken whole, never extended by the operator's: a
    /// signer's statement of what a patch fixes is not mixed with claims nobody signed.
    /// </summary>
    public static PatchMetadata Merge(PatchMetadata declared, PatchMetadata operatorSupplied)
    {
        ArgumentNullException.ThrowIfNull(declared);
        ArgumentNullException.ThrowIfNull(operatorSupplied);
        var takeCves = declared.CveIds.IsEmpty ? operatorSupplied : declared;
        var takeSummary = declared.Summary is null ? operatorSupplied : declared;
        var takeLevel = declared.Level is null ? operatorSupplied : declared;
        var takeFixes = declared.FixesVersion is null ? operatorSupplied : declared;
        return new PatchMetadata
        {
            CveIds = takeCves.CveIds,
            CveIdsSource = takeCves.CveIdsSource,
            Summary = takeSummary.Summary,
            SummarySource = takeSummary.SummarySource,
            Level = takeLevel.Level,
            LevelSource = takeLevel.LevelSource,
            FixesVersion = takeFixes.FixesVersion,
            FixesVersionSource = takeFixes.FixesVersionSource,
            Warnings = declared.Warnings,
        };
    }

    /// <summary>Why <paramref name="id"/> is not a CVE id (<c>CVE-YYYY-NNNN</c>, four or more digits); null when it is.</summary>
    public static string? CveIdProblem(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (CvePattern().IsMatch(id))
        {
            return null;
        }

        return CvePattern().IsMatch(id.Trim().ToUpperInvariant())
            ? "is not a CVE id as MITRE writes it: upper case, no spaces (CVE-YYYY-NNNN)"
            : "is not a CVE id: expected CVE-YYYY-NNNN, a four-digit year and four or more digits";
    }

    /// <summary>The problem of <see cref="CveIdProblem"/> with the id quoted and escaped for a message; null when it is a CVE id.</summary>
    public static string? DescribeCveIdProblem(string id) => CveIdProblem(id) is { } problem ? $"{DisplayText.Quote(id)} {problem}" : null;

    /// <summary>Why <paramref name="summary"/> is not a one-line summary; null when it is.</summary>
    public static string? SummaryProblem(string summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        if (summary.Trim().Length == 0)
        {
            return "is empty; leave the key out instead";
        }

        if (summary.Length > MaxSummaryLength)
        {
            return $"is {summary.Length} characters; a summary is one line of at most {MaxSummaryLength}";
        }

        // Control and format characters (newlines, tabs, bidirectional overrides) would let a summary forge
        // lines or reorder text in a terminal or a log.
        foreach (var c in summary)
        {
            var category = char.GetUnicodeCategory(c);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                return c is '\n' or '\r'
                    ? "spans more than one line; a summary is one line"
                    : $"contains the control character U+{(int)c:X4}; a summary is one line of printable text";
            }
        }

        return null;
    }

    /// <summary>Why <paramref name="text"/> is not a level (a decimal integer); null when it is.</summary>
    public static string? LevelProblem(string text, out ulong level)
    {
        ArgumentNullException.ThrowIfNull(text);
        level = 0;
        if (text.Length == 0 || text.Length > 20 || !text.All(char.IsAsciiDigit))
        {
            return "is not a level: expected a decimal integer such as 3";
        }

        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out level)
            ? null
            : "is not a level: it does not fit in 64 bits";
    }

    /// <summary>Why <paramref name="version"/> is not a kernel package version; null when it is.</summary>
    public static string? FixesVersionProblem(string version)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (version.Length > MaxFixesVersionLength)
        {
            return $"is {version.Length} characters; a package version has at most {MaxFixesVersionLength}";
        }

        return FixesVersionPattern().IsMatch(version)
            ? null
            : "is not a package version: expected a digit first, then letters, digits and . + ~ : _ - only (e.g. 6.1.194-1)";
    }

    /// <summary>The stable word for a source: what JSON, gRPC and D-Bus carry.</summary>
    public static string Name(MetadataSource source) => source switch
    {
        MetadataSource.SignedModinfo => "signed",
        MetadataSource.UnsignedModinfo => "unsigned-modinfo",
        MetadataSource.Operator => "operator",
        _ => string.Empty,
    };

    /// <summary>The source a word names; None for an empty or unknown word.</summary>
    public static MetadataSource ParseSource(string? name) => name switch
    {
        "signed" => MetadataSource.SignedModinfo,
        "unsigned-modinfo" => MetadataSource.UnsignedModinfo,
        "operator" => MetadataSource.Operator,
        _ => MetadataSource.None,
    };

    private static int Trust(MetadataSource source) => source switch
    {
        MetadataSource.UnsignedModinfo => 0,
        MetadataSource.Operator => 1,
        _ => 2,
    };

    /// <summary>The value of a key that may appear once; a repeat is an error, as the kernel would read only the first.</summary>
    private static string? Single(ModuleInfo info, string key, ImmutableArray<string>.Builder errors)
    {
        var values = info.GetAll(key);
        if (values.Length > 1)
        {
            errors.Add($"{key} is declared {values.Length} times; it may appear once");
        }

        return values.IsEmpty ? null : values[0];
    }

    // \z, not $: $ also matches before a final newline, which would let "CVE-2024-1234\n" through.
    [GeneratedRegex("^CVE-[0-9]{4}-[0-9]{4,19}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex CvePattern();

    [GeneratedRegex("^[0-9][A-Za-z0-9._+~:-]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex FixesVersionPattern();
}

/// <summary>Orders CVE ids by year, then by number (CVE-2024-9999 before CVE-2024-10000); anything else after them, ordinally.</summary>
public sealed class CveIdComparer : IComparer<string>
{
    public static CveIdComparer Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        var (xYear, xNumber) = Parts(x);
        var (yYear, yNumber) = Parts(y);
        var byYear = xYear.CompareTo(yYear);
        if (byYear != 0)
        {
            return byYear;
        }

        var byNumber = xNumber.CompareTo(yNumber);
        return byNumber != 0 ? byNumber : string.CompareOrdinal(x, y);
    }

    private static (ulong Year, ulong Number) Parts(string? id)
    {
        var parts = id?.Split('-');
        return parts is ["CVE", var year, var number]
            && ulong.TryParse(year, NumberStyles.None, CultureInfo.InvariantCulture, out var y)
            && ulong.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? (y, n)
            : (ulong.MaxValue, ulong.MaxValue);
    }
}

/// <summary>A module's metadata as read from .modinfo, with the rules it broke (then <see cref="Metadata"/> is empty).</summary>
public sealed record PatchMetadataReading(PatchMetadata Metadata, ImmutableArray<string> Errors)
{
    public bool Valid => Errors.IsEmpty;
}

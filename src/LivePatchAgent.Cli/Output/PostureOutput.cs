using System.Globalization;
using System.Text;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Output;

/// <summary>The CVE posture as lpctl shows it: the status line, the <c>lpctl cves</c> table and their JSON documents.</summary>
internal static class PostureOutput
{
    /// <summary>The word for a state, as the table, the JSON and <c>--state</c> spell it.</summary>
    public static string StateWord(CveState state) => state switch
    {
        CveState.FixedLive => "fixed-live",
        CveState.FixedInstalled => "fixed-installed",
        CveState.Open => "open",
        CveState.NotAffected => "not-affected",
        _ => "unknown",
    };

    public static string SeverityWord(Severity severity) => severity switch
    {
        Severity.None => "none",
        Severity.Low => "low",
        Severity.Medium => "medium",
        Severity.High => "high",
        Severity.Critical => "critical",
        _ => "unknown",
    };

    /// <summary>
    /// One line for <c>lpctl status</c>, e.g. "14 fixed live, 2 open (1 critical): reboot into &gt;= 6.1.194-1 closes
    /// them".
    /// </summary>
    public static string StatusLine(Posture posture)
    {
        ArgumentNullException.ThrowIfNull(posture);
        if (!posture.Available)
        {
            return $"unknown: {posture.UnavailableReason}";
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{posture.FixedLive} fixed live");
        if (posture.FixedInstalled > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {posture.FixedInstalled} fixed by installed patches not loaded (lpctl apply)");
        }

        text.Append(CultureInfo.InvariantCulture, $", {posture.Open} open");
        var bySeverity = OpenBySeverity(posture).Where(s => s.Count > 0).Select(s => $"{s.Count} {s.Word}").ToList();
        if (bySeverity.Count > 0)
        {
            text.Append(" (").Append(string.Join(", ", bySeverity)).Append(')');
        }

        if (posture.Open > 0)
        {
            if (posture.RebootTarget.Length > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $": reboot into >= {posture.RebootTarget} closes ");
                text.Append(posture.OpenWithoutFix > 0
                    ? string.Create(CultureInfo.InvariantCulture, $"those with a fix; {posture.OpenWithoutFix} have no fix yet")
                    : "them");
            }
            else
            {
                text.Append(": no fix is published yet");
            }
        }

        if (posture.EffectiveVersion.Length > 0 && posture.EffectiveVersion != posture.RunningVersion)
        {
            text.Append(CultureInfo.InvariantCulture, $"; effective kernel level {posture.EffectiveVersion} (running {posture.RunningVersion})");
        }

        if (posture.Problems.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"; {posture.Problems.Count} feed file(s) skipped");
        }

        return text.ToString();
    }

    /// <summary>The problems with the feed files, one line each, for <c>lpctl status</c> and <c>lpctl cves</c>.</summary>
    public static IEnumerable<string> ProblemLines(Posture posture) =>
        posture.Problems.Select(p => p.Path.Length > 0 ? $"{p.Path}: {p.Message}" : p.Message);

    /// <summary>The <c>lpctl cves</c> table: the header block, then one row per advisory.</summary>
    public static string Table(Posture posture, IReadOnlyList<PostureAdvisory> advisories)
    {
        ArgumentNullException.ThrowIfNull(posture);
        var text = new StringBuilder();
        var block = new KeyValueBlock()
            .Add("Kernel package", posture.Package.Length > 0
                ? $"{posture.Package} {posture.RunningVersion} ({posture.Ecosystem})"
                : "unknown")
            .Add("Advisories", string.Create(CultureInfo.InvariantCulture,
                $"{posture.AdvisoryCount} from {posture.FeedFileCount} file(s) in {posture.AdvisoriesDir}"))
            .Add("CVEs", StatusLine(posture));
        if (posture.Problems.Count > 0)
        {
            block.AddLines("Skipped", ProblemLines(posture));
        }

        text.Append(block);
        if (advisories.Count == 0)
        {
            text.Append(posture.Available ? "\nno advisory matches\n" : string.Empty);
            return text.ToString();
        }

        var table = new TextTable("ADVISORY", "CVE", "SEVERITY", "STATE", "FIXED BY", "SUMMARY");
        foreach (var a in advisories)
        {
            table.AddRow(
                a.Id,
                a.CveIds.Count > 0 ? string.Join(",", a.CveIds) : "-",
                SeverityWord(a.Severity),
                StateWord(a.State),
                FixedBy(a),
                a.Summary.Length > 0 ? a.Summary : "-");
        }

        text.Append('\n').Append(table);
        return text.ToString();
    }

    private static string FixedBy(PostureAdvisory a) => a.State switch
    {
        CveState.FixedLive or CveState.FixedInstalled when a.Patches.Count > 0 =>
            string.Join(",", a.Patches) + (a.MetadataSource.Length > 0 ? $" ({a.MetadataSource})" : string.Empty),
        CveState.Open when a.FixedVersion.Length > 0 => $"reboot >= {a.FixedVersion}",
        CveState.Open => "no fix yet",
        _ => "-",
    };

    private static IEnumerable<(string Word, uint Count)> OpenBySeverity(Posture p) =>
    [
        ("critical", p.OpenCritical),
        ("high", p.OpenHigh),
        ("medium", p.OpenMedium),
        ("low", p.OpenLow),
        ("unrated", p.OpenUnknown),
    ];

    public static PostureDocument ToDocument(Posture posture, IReadOnlyList<PostureAdvisory> advisories)
    {
        ArgumentNullException.ThrowIfNull(posture);
        return new PostureDocument(
            posture.Available,
            ProtocolNames.NullIfEmpty(posture.UnavailableReason),
            ProtocolNames.NullIfEmpty(posture.Ecosystem),
            ProtocolNames.NullIfEmpty(posture.Package),
            ProtocolNames.NullIfEmpty(posture.RunningVersion),
            ProtocolNames.NullIfEmpty(posture.EffectiveVersion),
            posture.FixedLive,
            posture.FixedInstalled,
            posture.Open,
            posture.NotAffected,
            posture.Open > 0 ? SeverityWord(posture.HighestOpenSeverity) : null,
            new OpenCountsDocument(posture.OpenCritical, posture.OpenHigh, posture.OpenMedium, posture.OpenLow, posture.OpenUnknown),
            ProtocolNames.NullIfEmpty(posture.RebootTarget),
            posture.OpenWithoutFix,
            posture.FailOnSeverity == Severity.Unknown ? null : SeverityWord(posture.FailOnSeverity),
            ProtocolNames.NullIfEmpty(posture.AdvisoriesDir),
            posture.AdvisoryCount,
            posture.FeedFileCount,
            posture.EvaluatedAt?.ToDateTime(),
            [.. posture.Problems.Select(p => new ProblemDocument(ProtocolNames.NullIfEmpty(p.Path), p.Message))],
            [.. advisories.Select(a => new PostureAdvisoryDocument(
                a.Id,
                [.. a.CveIds],
                SeverityWord(a.Severity),
                StateWord(a.State),
                [.. a.Patches],
                ProtocolNames.NullIfEmpty(a.MetadataSource),
                ProtocolNames.NullIfEmpty(a.FixedVersion),
                ProtocolNames.NullIfEmpty(a.Summary),
                ProtocolNames.NullIfEmpty(a.File)))]);
    }
}

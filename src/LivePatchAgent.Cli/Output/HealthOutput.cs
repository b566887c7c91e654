using System.Globalization;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Output;

/// <summary>The kernel health guard: <c>lpctl health</c>, <c>lpctl quarantine list</c>, and its line in <c>lpctl status</c>.</summary>
internal static class HealthOutput
{
    public static string ActionWord(HealthAction action) => action switch
    {
        HealthAction.Revert => "revert",
        HealthAction.Alert => "alert",
        HealthAction.None => "none",
        _ => "unknown",
    };

    /// <summary>One line for lpctl status: the reader, the quarantined patches, the last attributed report.</summary>
    public static string StatusLine(HealthStatus health)
    {
        ArgumentNullException.ThrowIfNull(health);
        var text = new StringBuilder(health.Reader switch
        {
            "watching" => $"watching {health.KmsgPath}",
            "starting" => "starting",
            _ => $"{health.Reader}: {health.ReaderProblem} (the taint mask is still watched)",
        });
        text.Append(CultureInfo.InvariantCulture, $"; warnings: {ActionWord(health.OnKernelWarning)}, bugs: {ActionWord(health.OnKernelBug)}");
        if (health.Quarantined.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"; quarantined: {string.Join(", ", health.Quarantined.Select(q => q.Name))}");
        }

        if (health.Reports.LastOrDefault(r => r.Patch.Length > 0) is { } last)
        {
            text.Append(CultureInfo.InvariantCulture, $"; last: {last.Summary}");
        }

        return text.ToString();
    }

    public static string Table(HealthStatus health, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(health);
        var block = new KeyValueBlock()
            .Add("Kernel log", health.Reader == "watching" ? $"watching {health.KmsgPath}" : $"{health.Reader}: {health.ReaderProblem}")
            .Add("Policy", $"Health:OnKernelWarning={ActionWord(health.OnKernelWarning)}, Health:OnKernelBug={ActionWord(health.OnKernelBug)}, Health:Window={health.Window?.ToTimeSpan()}")
            .AddLines("Windows", health.Windows.Count == 0 ? ["none open"] : health.Windows.Select(w => $"{w.Patch} until {Local(w.ClosesAt, zone)}"))
            .AddLines("Quarantined", health.Quarantined.Count == 0 ? ["none"] : health.Quarantined.Select(q => $"{q.Name}: {q.Reason}"));
        if (health.RecordsMissed > 0 || health.ReportsSuppressed > 0)
        {
            block.Add("Lost", $"{health.RecordsMissed} kernel log record(s) overwritten before they were read, {health.ReportsSuppressed} report(s) suppressed by the rate limit");
        }

        block.AddLines("Reports", health.Reports.Count == 0 ? ["none"] : health.Reports.Select(r => $"{Local(r.Time, zone)} {r.Summary}"));
        return block.ToString();
    }

    public static string QuarantineTable(HealthStatus health, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(health);
        if (health.Quarantined.Count == 0)
        {
            return "no patch is quarantined\n";
        }

        var table = new TextTable("NAME", "QUARANTINED", "KIND", "ATTRIBUTION", "BY", "WHY");
        foreach (var q in health.Quarantined)
        {
            table.AddRow(q.Name, Local(q.QuarantinedAt, zone), q.Kind, q.Attribution, q.By, $"{q.Evidence}: {q.Headline}");
        }

        return table.ToString();
    }

    public static HealthDocument ToDocument(HealthStatus health)
    {
        ArgumentNullException.ThrowIfNull(health);
        return new HealthDocument(
            health.Reader,
            ProtocolNames.NullIfEmpty(health.ReaderProblem),
            ProtocolNames.NullIfEmpty(health.KmsgPath),
            ActionWord(health.OnKernelWarning),
            ActionWord(health.OnKernelBug),
            health.Window?.ToTimeSpan().TotalSeconds,
            [.. health.Windows.Select(w => new HealthWindowDocument(w.Patch, w.OpenedAt?.ToDateTime(), w.ClosesAt?.ToDateTime()))],
            [.. health.Reports.Select(r => new HealthReportDocument(
                r.Id, r.Time?.ToDateTime(), r.Kind, r.Headline, ProtocolNames.NullIfEmpty(r.Patch), r.Attribution, r.Evidence,
                ActionWord(r.Action), r.Outcome, r.OperationId == 0 ? null : r.OperationId, r.HasSequence ? r.Sequence : null, [.. r.Lines]))],
            [.. health.Quarantined.Select(ToDocument)],
            health.RecordsMissed,
            health.ReportsSuppressed);
    }

    public static QuarantinedDocument ToDocument(QuarantinedPatch q)
    {
        ArgumentNullException.ThrowIfNull(q);
        return new QuarantinedDocument(q.Name, ProtocolNames.NullIfEmpty(q.Sha256), q.QuarantinedAt?.ToDateTime(), q.Kind, q.Attribution,
            q.Evidence, q.Headline, q.By, q.OperationId == 0 ? null : q.OperationId, q.Reason);
    }

    private static string Local(Timestamp? time, TimeZoneInfo zone) => time is null
        ? "-"
        : TimeZoneInfo.ConvertTime(time.ToDateTimeOffset(), zone).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}

/// <summary>The output of <c>lpctl -o json health</c>, and <c>health</c> in the status document.</summary>
internal sealed record HealthDocument(
    string Reader,
    string? ReaderProblem,
    string? KmsgPath,
    string OnKernelWarning,
    string OnKernelBug,
    double? WindowSeconds,
    IReadOnlyList<HealthWindowDocument> Windows,
    IReadOnlyList<HealthReportDocument> Reports,
    IReadOnlyList<QuarantinedDocument> Quarantined,
    ulong RecordsMissed,
    ulong ReportsSuppressed)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

internal sealed record HealthWindowDocument(string Patch, DateTime? OpenedAt, DateTime? ClosesAt);

/// <summary>One kernel report: <c>attribution</c> is module, function, taint or none; <c>action</c> revert, alert or none.</summary>
internal sealed record HealthReportDocument(
    long Id,
    DateTime? Time,
    string Kind,
    string Headline,
    string? Patch,
    string Attribution,
    string Evidence,
    string Action,
    string Outcome,
    long? OperationId,
    ulong? Sequence,
    IReadOnlyList<string> Lines);

/// <summary>One quarantined patch (<c>lpctl -o json quarantine list</c> prints a list of them).</summary>
internal sealed record QuarantinedDocument(
    string Name,
    string? Sha256,
    DateTime? QuarantinedAt,
    string Kind,
    string Attribution,
    string Evidence,
    string Headline,
    string By,
    long? OperationId,
    string Reason);

/// <summary>The output of <c>lpctl -o json quarantine list</c>.</summary>
internal sealed record QuarantineListDocument(IReadOnlyList<QuarantinedDocument> Quarantined)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>The output of <c>lpctl -o json quarantine release NAME</c>.</summary>
internal sealed record QuarantineReleaseDocument(string Name, string Message, long OperationId)
{
    [System.Text.Json.Serialization.JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

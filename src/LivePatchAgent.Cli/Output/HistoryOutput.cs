using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Output;

/// <summary><c>lpctl history</c> as a table and as a JSON document.</summary>
internal static class HistoryOutput
{
    public static string Table(GetHistoryResponse response, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = new StringBuilder();
        if (response.Operations.Count == 0)
        {
            text.Append("no operations recorded").Append(response.Total > 0 ? " in that range" : string.Empty).Append('\n');
        }
        else
        {
            var table = new TextTable("ID", "STARTED", "OPERATION", "PATCH", "CALLER", "OUTCOME", "DURATION", "MESSAGE");
            foreach (var op in response.Operations)
            {
                table.AddRow(
                    op.Id.ToString(CultureInfo.InvariantCulture),
                    op.StartedAt is null ? "-" : Local(op.StartedAt.ToDateTimeOffset(), zone),
                    op.Operation,
                    Dash(op.Patch),
                    Dash(op.Caller),
                    op.Outcome.Length == 0 ? "running" : op.Reason.Length > 0 ? $"{op.Outcome} ({op.Reason})" : op.Outcome,
                    op.HasDurationMs ? TableOutput.DurationText(TimeSpan.FromMilliseconds(op.DurationMs)) : "-",
                    Dash(op.Message));
            }

            foreach (var line in table.Lines())
            {
                text.Append(line).Append('\n');
            }

            if (response.Total > response.Operations.Count)
            {
                text.Append(CultureInfo.InvariantCulture, $"(the newest {response.Operations.Count} of {response.Total}; --limit shows more)\n");
            }
        }

        foreach (var problem in response.Problems)
        {
            text.Append("skipped: ").Append(TerminalText.Escape(problem)).Append('\n');
        }

        return text.ToString();
    }

    public static HistoryDocument ToDocument(GetHistoryResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new HistoryDocument(
            response.Directory,
            response.Total,
            [.. response.Operations.Select(op => new HistoryOperationDocument(
                op.Id,
                op.Operation,
                ProtocolNames.NullIfEmpty(op.Patch),
                op.StartedAt?.ToDateTimeOffset(),
                op.FinishedAt?.ToDateTimeOffset(),
                ProtocolNames.NullIfEmpty(op.BootId),
                ProtocolNames.NullIfEmpty(op.Sha256),
                op.HasCallerUid ? op.CallerUid : null,
                op.HasCallerPid ? op.CallerPid : null,
                ProtocolNames.NullIfEmpty(op.CallerComm),
                ProtocolNames.NullIfEmpty(op.Caller),
                ProtocolNames.NullIfEmpty(op.Outcome) ?? "running",
                ProtocolNames.NullIfEmpty(op.Reason),
                ProtocolNames.NullIfEmpty(op.Message),
                op.HasDurationMs ? op.DurationMs : null,
                ProtocolNames.NullIfEmpty(op.KernelState)))],
            [.. response.Problems]);
    }

    private static string Local(DateTimeOffset time, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(time, zone).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    // Cells are escaped one by one, so the columns line up: the journal holds text other users influenced.
    private static string Dash(string value) => value.Length == 0 ? "-" : TerminalText.Escape(value);
}

/// <summary>
/// The output of <c>lpctl -o json history</c>: the operations oldest first; <c>outcome</c> is ok, refused, failed,
/// timeout, interrupted or running; <c>problems</c> are the journal lines that were skipped.
/// </summary>
internal sealed record HistoryDocument(string Directory, uint Total, IReadOnlyList<HistoryOperationDocument> Operations, IReadOnlyList<string> Problems)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>One operation of the audit journal.</summary>
internal sealed record HistoryOperationDocument(
    long Id,
    string Operation,
    string? Patch,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? BootId,
    string? Sha256,
    int? CallerUid,
    int? CallerPid,
    string? CallerComm,
    string? Caller,
    string Outcome,
    string? Reason,
    string? Message,
    long? DurationMs,
    string? KernelState);

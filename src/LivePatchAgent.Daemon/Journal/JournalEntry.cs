using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LivePatchAgent.Daemon.Journal;

/// <summary>Whether an entry opens an operation or closes it.</summary>
internal enum JournalEntryKind
{
    Started,

    /// <summary>What passed verification (the module's name and SHA-256), written right before it reached the kernel.</summary>
    Checked,

    Finished,
}

/// <summary>
/// One line of the audit journal. A <em>started</em> entry is written (and fsync'd) before an operation acts;
/// its <see cref="Seq"/> is the operation id, and the <em>finished</em> entry names it in <see cref="Op"/>.
/// A load or an install also writes a <em>checked</em> entry between the two: the module's name and SHA-256, once
/// verification passed and before the kernel or the store saw it. Outcomes are the operation's result
/// (completed, forced, reversed, still-running, not-waited, refused, failed, cancelled) and interrupted (written at
/// the next start when the daemon died before the finish; <see cref="KernelState"/> and <see cref="Installed"/> then
/// say what actually happened). Lines from before results existed say "ok" (completed) and "timeout" (still running).
/// The format is documented in docs/security.md; fields are only ever added.
/// </summary>
internal sealed record JournalEntry
{
    public const int FormatVersion = 1;

    public required long Seq { get; init; }

    public required DateTimeOffset Time { get; init; }

    public required JournalEntryKind Kind { get; init; }

    /// <summary>The operation id: the <see cref="Seq"/> of the started entry (equal to it on that entry).</summary>
    public required long Op { get; init; }

    public required string Operation { get; init; }

    public string? Patch { get; init; }

    public string? BootId { get; init; }

    public string? Sha256 { get; init; }

    public int? Uid { get; init; }

    public int? Pid { get; init; }

    public string? Comm { get; init; }

    /// <summary>The caller as the log shows it: "lpctl[1234] uid 0", or "livepatchd" for the daemon's own operations.</summary>
    public string? Caller { get; init; }

    public string? Outcome { get; init; }

    public string? Reason { get; init; }

    public string? Message { get; init; }

    public long? DurationMs { get; init; }

    /// <summary>On an interrupted entry: the patch as the kernel showed it when the daemon came back.</summary>
    public string? KernelState { get; init; }

    /// <summary>On an interrupted entry: whether the store held the patch for the running kernel then.</summary>
    public bool? Installed { get; init; }

    /// <summary>One JSON line, with its newline.</summary>
    public byte[] ToJsonLine()
    {
        var line = new JournalLine
        {
            V = FormatVersion,
            Seq = Seq,
            Time = Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            Event = Kind switch
            {
                JournalEntryKind.Started => "started",
                JournalEntryKind.Checked => "checked",
                _ => "finished",
            },
            Op = Op,
            Operation = Operation,
            Patch = Patch,
            BootId = BootId,
            Sha256 = Sha256,
            Uid = Uid,
            Pid = Pid,
            Comm = Comm,
            Caller = Caller,
            Outcome = Outcome,
            Reason = Reason,
            Message = Message,
            DurationMs = DurationMs,
            KernelState = KernelState,
            Installed = Installed,
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(line, JournalJsonContext.Default.JournalLine);
        var bytes = new byte[json.Length + 1];
        json.CopyTo(bytes, 0);
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>
    /// Parses one line (without its newline). Returns null and a problem for a line that is not a complete entry:
    /// a torn write after a crash, or anything else that is not ours. Never throws. Lines written by every earlier
    /// version read the same (the names never changed; fields are only ever added).
    /// </summary>
    public static JournalEntry? TryParse(ReadOnlySpan<byte> line, out string? problem)
    {
        JournalLine? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(line, JournalJsonContext.Default.JournalLine);
        }
        catch (JsonException e)
        {
            problem = $"not valid JSON ({e.Message})";
            return null;
        }

        if (parsed is null)
        {
            problem = "not a JSON object";
            return null;
        }

        if (parsed.V is not { } version || version < 1)
        {
            problem = "no format version \"v\"";
            return null;
        }

        var kind = parsed.Event switch
        {
            "started" => JournalEntryKind.Started,
            "checked" => JournalEntryKind.Checked,
            "finished" => JournalEntryKind.Finished,
            _ => (JournalEntryKind?)null,
        };
        if (parsed.Seq is not { } seq || parsed.Op is not { } op || kind is null
            || parsed.Operation is not { } operation
            || parsed.Time is not { } timeText
            || !DateTimeOffset.TryParse(timeText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            problem = "missing or invalid seq, op, event, operation or time";
            return null;
        }

        problem = null;
        return new JournalEntry
        {
            Seq = seq,
            Time = time,
            Kind = kind.Value,
            Op = op,
            Operation = operation,
            Patch = parsed.Patch,
            BootId = parsed.BootId,
            Sha256 = parsed.Sha256,
            Uid = parsed.Uid,
            Pid = parsed.Pid,
            Comm = parsed.Comm,
            Caller = parsed.Caller,
            Outcome = parsed.Outcome,
            Reason = parsed.Reason,
            Message = parsed.Message,
            DurationMs = parsed.DurationMs,
            KernelState = parsed.KernelState,
            Installed = parsed.Installed,
        };
    }
}

/// <summary>
/// The journal line as written: the property names are the on-disk format (docs/security.md). Every field is
/// optional when read, so a line missing one is reported as a problem instead of failing the read.
/// </summary>
internal sealed class JournalLine
{
    [JsonPropertyOrder(0)]
    public int? V { get; set; }

    [JsonPropertyOrder(1)]
    public long? Seq { get; set; }

    [JsonPropertyOrder(2)]
    public string? Time { get; set; }

    [JsonPropertyOrder(3)]
    public string? Event { get; set; }

    [JsonPropertyOrder(4)]
    public long? Op { get; set; }

    [JsonPropertyOrder(5)]
    public string? Operation { get; set; }

    [JsonPropertyOrder(6)]
    public string? Patch { get; set; }

    [JsonPropertyOrder(7)]
    public string? BootId { get; set; }

    [JsonPropertyOrder(8)]
    public string? Sha256 { get; set; }

    [JsonPropertyOrder(9)]
    public int? Uid { get; set; }

    [JsonPropertyOrder(10)]
    public int? Pid { get; set; }

    [JsonPropertyOrder(11)]
    public string? Comm { get; set; }

    [JsonPropertyOrder(12)]
    public string? Caller { get; set; }

    [JsonPropertyOrder(13)]
    public string? Outcome { get; set; }

    [JsonPropertyOrder(14)]
    public string? Reason { get; set; }

    [JsonPropertyOrder(15)]
    public string? Message { get; set; }

    [JsonPropertyOrder(16)]
    public long? DurationMs { get; set; }

    [JsonPropertyOrder(17)]
    public string? KernelState { get; set; }

    [JsonPropertyOrder(18)]
    public bool? Installed { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JournalLine))]
internal sealed partial class JournalJsonContext : JsonSerializerContext;

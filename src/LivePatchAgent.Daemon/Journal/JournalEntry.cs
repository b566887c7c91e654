using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace LivePatchAgent.Daemon.Journal;

/// <summary>Whether an entry opens an operation or closes it.</summary>
internal enum JournalEntryKind
{
    Started,
    Finished,
}

/// <summary>
/// One line of the audit journal. A <em>started</em> entry is written (and fsync'd) before an operation acts;
/// its <see cref="Seq"/> is the operation id, and the <em>finished</em> entry names it in <see cref="Op"/>.
/// Outcomes: ok, refused, failed, timeout, and interrupted (written at the next start when the daemon died
/// between the two; <see cref="KernelState"/> and <see cref="Installed"/> then say what actually happened).
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
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("v", FormatVersion);
            json.WriteNumber("seq", Seq);
            json.WriteString("time", Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("event", Kind == JournalEntryKind.Started ? "started" : "finished");
            json.WriteNumber("op", Op);
            json.WriteString("operation", Operation);
            WriteOptional(json, "patch", Patch);
            WriteOptional(json, "bootId", BootId);
            WriteOptional(json, "sha256", Sha256);
            WriteOptional(json, "uid", Uid);
            WriteOptional(json, "pid", Pid);
            WriteOptional(json, "comm", Comm);
            WriteOptional(json, "caller", Caller);
            WriteOptional(json, "outcome", Outcome);
            WriteOptional(json, "reason", Reason);
            WriteOptional(json, "message", Message);
            if (DurationMs is { } duration)
            {
                json.WriteNumber("durationMs", duration);
            }

            WriteOptional(json, "kernelState", KernelState);
            if (Installed is { } installed)
            {
                json.WriteBoolean("installed", installed);
            }

            json.WriteEndObject();
        }

        var line = new byte[buffer.WrittenCount + 1];
        buffer.WrittenSpan.CopyTo(line);
        line[^1] = (byte)'\n';
        return line;
    }

    /// <summary>
    /// Parses one line (without its newline). Returns null and a problem for a line that is not a complete entry:
    /// a torn write after a crash, or anything else that is not ours. Never throws.
    /// </summary>
    public static JournalEntry? TryParse(ReadOnlySpan<byte> line, out string? problem)
    {
        try
        {
            using var document = JsonDocument.Parse(line.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "not a JSON object";
                return null;
            }

            if (Int(root, "v") is not { } version || version < 1)
            {
                problem = "no format version \"v\"";
                return null;
            }

            var kind = Text(root, "event") switch
            {
                "started" => JournalEntryKind.Started,
                "finished" => JournalEntryKind.Finished,
                var other => (JournalEntryKind?)null,
            };
            if (Long(root, "seq") is not { } seq || Long(root, "op") is not { } op || kind is null
                || Text(root, "operation") is not { } operation
                || Text(root, "time") is not { } timeText
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
                Patch = Text(root, "patch"),
                BootId = Text(root, "bootId"),
                Sha256 = Text(root, "sha256"),
                Uid = Int(root, "uid"),
                Pid = Int(root, "pid"),
                Comm = Text(root, "comm"),
                Caller = Text(root, "caller"),
                Outcome = Text(root, "outcome"),
                Reason = Text(root, "reason"),
                Message = Text(root, "message"),
                DurationMs = Long(root, "durationMs"),
                KernelState = Text(root, "kernelState"),
                Installed = root.TryGetProperty("installed", out var installed) && installed.ValueKind is JsonValueKind.True or JsonValueKind.False
                    ? installed.GetBoolean()
                    : null,
            };
        }
        catch (JsonException e)
        {
            problem = $"not valid JSON ({e.Message})";
            return null;
        }
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Long(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    private static int? Int(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : null;
}

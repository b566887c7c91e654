using System.Text;

namespace LivePatchAgent.Core.Health;

/// <summary>
/// Turns the bytes read from the kernel log into records and keeps count of the ones lost. /dev/kmsg returns one
/// whole record per read; a file or FIFO (tests, a container's copy of the log) returns arbitrary chunks, so lines
/// are joined across reads and a record is complete at its last continuation line. A record the reader's position
/// fell behind (EPIPE from /dev/kmsg, or a gap in the sequence numbers) is counted, never fatal.
/// </summary>
public sealed class KmsgRecordReader
{
    /// <summary>A line longer than this is not a kmsg record (the kernel's limit is 1024 bytes of text plus escapes).</summary>
    public const int MaxLineBytes = 16 * 1024;

    private readonly List<byte> _partial = [];
    private readonly StringBuilder _record = new();
    private ulong? _lastSequence;
    private bool _overwritten;

    /// <summary>Records lost in total: overwritten before they were read.</summary>
    public ulong Missed { get; private set; }

    /// <summary>Lines that were not records, in total.</summary>
    public ulong Malformed { get; private set; }

    /// <summary>The last problem met with a line, for the log.</summary>
    public string? LastProblem { get; private set; }

    /// <summary>The reader was told its position was overwritten (EPIPE); the next record's sequence number says by how much.</summary>
    public void Overwritten()
    {
        Overruns++;
        _overwritten = true;
    }

    /// <summary>How often the reader was told its position was overwritten.</summary>
    public ulong Overruns { get; private set; }

    /// <summary>Feeds bytes as read; returns the records they completed, with the records missed just before each.</summary>
    public IReadOnlyList<KmsgEntry> Feed(ReadOnlySpan<byte> bytes)
    {
        var entries = new List<KmsgEntry>();
        while (!bytes.IsEmpty)
        {
            var newline = bytes.IndexOf((byte)'\n');
            if (newline < 0)
            {
                if (_partial.Count + bytes.Length <= MaxLineBytes)
                {
                    _partial.AddRange(bytes);
                }

                break;
            }

            string line;
            if (_partial.Count > 0)
            {
                _partial.AddRange(bytes[..newline]);
                line = Encoding.UTF8.GetString([.. _partial]);
                _partial.Clear();
            }
            else
            {
                line = Encoding.UTF8.GetString(bytes[..newline]);
            }

            bytes = bytes[(newline + 1)..];
            if (line.Length > 0 && line[0] == ' ')
            {
                if (_record.Length > 0)
                {
                    _record.Append('\n').Append(line);
                }

                continue;
            }

            Complete(entries);
            _record.Append(line);
        }

        // A chunk that ends at a line's end ends the record (one read of /dev/kmsg is one record); a record split
        // across reads of a file completes with the next header line.
        if (_partial.Count == 0)
        {
            Complete(entries);
        }

        return entries;
    }

    private void Complete(List<KmsgEntry> entries)
    {
        if (_record.Length == 0)
        {
            return;
        }

        var text = _record.ToString();
        _record.Clear();
        if (KmsgRecord.Parse(text, out var problem) is not { } record)
        {
            Malformed++;
            LastProblem = $"{problem}: \"{(text.Length > 80 ? text[..80] + "…" : text)}\"";
            return;
        }

        ulong missed = 0;
        if (_lastSequence is { } last && record.Sequence > last + 1)
        {
            missed = record.Sequence - last - 1;
        }
        else if (_overwritten && _lastSequence is not null)
        {
            // Told of an overrun, yet the numbers follow on (the log was cleared): at least one record was lost.
            missed = 1;
        }

        _overwritten = false;
        _lastSequence = record.Sequence;
        Missed += missed;
        entries.Add(new KmsgEntry(record, missed));
    }
}

/// <summary>A record read, with how many records were lost just before it.</summary>
public sealed record KmsgEntry(KmsgRecord Record, ulong MissedBefore);

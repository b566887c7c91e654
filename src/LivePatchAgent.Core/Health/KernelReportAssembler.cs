using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace LivePatchAgent.Core.Health;

/// <summary>
/// Groups kernel log records into reports and classifies them. The kernel prints one complaint as many records
/// (the WARNING line, the registers, "Call Trace:", one record per frame, "---[ end trace … ]---"); a report
/// begins at a header the kernel uses for its complaints and ends at "end trace", at the next header, or when the
/// log has been quiet for <see cref="Quiet"/> (lockup, RCU stall and hung-task reports have no end marker). Only
/// the kernel's own records count: user space can write any text to /dev/kmsg, but only with a user facility.
/// </summary>
public sealed partial class KernelReportAssembler
{
    public const int MaxLines = 120;
    public const int MaxFrames = 64;

    /// <summary>A report with no record for this long is complete.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    private Builder? _current;

    /// <summary>Whether a report is being assembled (a caller then flushes it after <see cref="Quiet"/>).</summary>
    public bool Pending => _current is not null;

    /// <summary>Adds a record; returns the reports it completed (usually none).</summary>
    public IReadOnlyList<KernelReport> Add(KmsgRecord record, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!record.FromKernel)
        {
            return [];
        }

        var done = new List<KernelReport>(1);
        var text = record.Text.Trim();
        var kind = Classify(text, record.Level);
        if (kind is { } k)
        {
            if (_current is { } current && current.Continues(k, text))
            {
                current.Refine(k, text);
                current.Append(record.Text, now);
            }
            else
            {
                Complete(done, ended: false);
                _current = new Builder(k, record, isCutHere: IsCutHere(text));
                _current.Append(record.Text, now);
                if (k == KernelReportKind.LivepatchError)
                {
                    Complete(done, ended: true);
                }
            }

            return done;
        }

        if (_current is { } open)
        {
            open.Append(record.Text, now);
            if (text.StartsWith("---[ end trace", StringComparison.Ordinal) || text.StartsWith("---[ end Kernel panic", StringComparison.Ordinal))
            {
                Complete(done, ended: true);
            }
        }

        return done;
    }

    /// <summary>Completes the report being assembled if the log has been quiet long enough (or at once with <paramref name="force"/>).</summary>
    public KernelReport? Flush(DateTimeOffset now, bool force = false)
    {
        if (_current is not { } current || (!force && now - current.LastAt < Quiet))
        {
            return null;
        }

        var done = new List<KernelReport>(1);
        Complete(done, ended: false);
        return done[0];
    }

    /// <summary>The kind of report a record's text begins, or null when it begins none.</summary>
    public static KernelReportKind? Classify(string text, int level)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IsCutHere(text) || text.StartsWith("WARNING:", StringComparison.Ordinal))
        {
            return KernelReportKind.Warning;
        }

        if (text.Contains("BUG: soft lockup", StringComparison.Ordinal) || text.StartsWith("BUG: workqueue lockup", StringComparison.Ordinal))
        {
            return KernelReportKind.SoftLockup;
        }

        if (text.Contains("hard LOCKUP", StringComparison.Ordinal))
        {
            return KernelReportKind.HardLockup;
        }

        if (text.StartsWith("kernel BUG at", StringComparison.Ordinal) || text.StartsWith("BUG:", StringComparison.Ordinal)
            || text.StartsWith("Oops:", StringComparison.Ordinal) || text.StartsWith("Oops ", StringComparison.Ordinal)
            || text.StartsWith("general protection fault", StringComparison.Ordinal)
            || text.StartsWith("Unable to handle kernel", StringComparison.Ordinal))
        {
            return KernelReportKind.Bug;
        }

        if (RcuStall().IsMatch(text))
        {
            return KernelReportKind.RcuStall;
        }

        if (HungTask().IsMatch(text))
        {
            return KernelReportKind.HungTask;
        }

        // pr_err and worse from kernel/livepatch ("livepatch: failed to …"); its info lines are routine.
        return level <= 3 && text.StartsWith("livepatch: ", StringComparison.Ordinal) ? KernelReportKind.LivepatchError : null;
    }

    /// <summary>The frames a line names: "func+0x12/0x34 [module]", "? func+0x…" (unreliable), "RIP: 0010:func+0x…".</summary>
    public static IEnumerable<StackFrame> FramesIn(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        foreach (Match m in Frame().Matches(line))
        {
            yield return new StackFrame(m.Groups["fn"].Value, m.Groups["mod"].Success ? m.Groups["mod"].Value : null, !m.Groups["unreliable"].Success, m.Value.Trim());
        }
    }

    private static bool IsCutHere(string text) => text.StartsWith("------------[ cut here ]", StringComparison.Ordinal);

    private void Complete(List<KernelReport> done, bool ended)
    {
        if (_current is { } current)
        {
            done.Add(current.Build(ended));
            _current = null;
        }
    }

    [GeneratedRegex(@"^(rcu: )?INFO: rcu_\w+ (self-detected stall|detected stalls?)")]
    private static partial Regex RcuStall();

    [GeneratedRegex(@"^INFO: task .+ blocked for more than \d+ seconds")]
    private static partial Regex HungTask();

    // "? " marks a frame the unwinder only guessed; the name may carry suffixes like ".isra.0" or ".cold".
    [GeneratedRegex(@"(?<![\w.$])(?<unreliable>\? )?(?<fn>[A-Za-z_$][\w.$]*)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?<mod>[\w-]+)\])?")]
    private static partial Regex Frame();

    private sealed class Builder(KernelReportKind kind, KmsgRecord first, bool isCutHere)
    {
        private readonly ImmutableArray<string>.Builder _lines = ImmutableArray.CreateBuilder<string>();
        private readonly ImmutableArray<StackFrame>.Builder _frames = ImmutableArray.CreateBuilder<StackFrame>();
        private KernelReportKind _kind = kind;
        private string _headline = first.Text.Trim();
        private bool _awaitingHeadline = isCutHere;

        public DateTimeOffset LastAt { get; private set; }

        /// <summary>
        /// Whether a header continues this report: "cut here" is followed by its WARNING or BUG line, and a BUG line
        /// by its "Oops:" line.
        /// </summary>
        public bool Continues(KernelReportKind next, string text) =>
            (_awaitingHeadline && next is KernelReportKind.Warning or KernelReportKind.Bug && !IsCutHere(text))
            || (_kind == KernelReportKind.Bug && _lines.Count < 4 && (text.StartsWith("Oops", StringComparison.Ordinal) || text.StartsWith("general protection", StringComparison.Ordinal)));

        public void Refine(KernelReportKind next, string text)
        {
            if (_awaitingHeadline)
            {
                _kind = next;
                _headline = text;
                _awaitingHeadline = false;
            }
        }

        public void Append(string text, DateTimeOffset at)
        {
            LastAt = at;
            if (_lines.Count < MaxLines)
            {
                _lines.Add(text);
            }

            foreach (var frame in FramesIn(text))
            {
                if (_frames.Count < MaxFrames)
                {
                    _frames.Add(frame);
                }
            }
        }

        public KernelReport Build(bool ended)
        {
            return new KernelReport
            {
                Kind = _kind,
                Headline = _headline,
                Sequence = first.Sequence,
                Microseconds = first.Microseconds,
                Lines = _lines.ToImmutable(),
                Frames = _frames.ToImmutable(),
                Ended = ended,
            };
        }
    }
}

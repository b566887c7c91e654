using System.Collections.Immutable;
using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Core.Health;

/// <summary>How a kernel report was tied to a patch. Every report says which, or that it was not tied.</summary>
public enum AttributionBasis
{
    /// <summary>Not attributed to any patch.</summary>
    None,

    /// <summary>A reliable frame of its trace (or its WARNING/RIP line) is in the patch's module: the patch's own code ran.</summary>
    Module,

    /// <summary>A reliable frame names a function the patch replaces.</summary>
    Function,

    /// <summary>Weaker: only a new taint bit (W, D, L), the first after the patch's transition, with no log record to say where it came from.</summary>
    Taint,
}

/// <summary>
/// The health window of one patch: it opens when the patch's transition completes and lasts Health:Window. Only
/// reports within a patch's window are attributed to it.
/// </summary>
/// <param name="Patch">The patch (module) name.</param>
/// <param name="Functions">The functions it replaces.</param>
/// <param name="OpenedAt">When its transition completed.</param>
/// <param name="ClosesAt">When the window ends.</param>
public sealed record HealthWindow(string Patch, ImmutableHashSet<string> Functions, DateTimeOffset OpenedAt, DateTimeOffset ClosesAt)
{
    /// <summary>Whether a new taint was already attributed to this window (only the first one is).</summary>
    public bool TaintSeen { get; init; }

    public bool IsOpenAt(DateTimeOffset at) => at >= OpenedAt && at < ClosesAt;

    /// <summary>The window of a patch whose transition completed at <paramref name="at"/>.</summary>
    public static HealthWindow For(LivePatch patch, DateTimeOffset at, TimeSpan length)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return new HealthWindow(patch.Name, patch.Functions.Select(f => f.Function.Name).ToImmutableHashSet(StringComparer.Ordinal), at, at + length);
    }
}

/// <summary>The outcome of attributing one report.</summary>
/// <param name="Patch">The patch it is attributed to; null when none.</param>
/// <param name="Basis">How.</param>
/// <param name="Evidence">What tied it, or why nothing did, in words.</param>
public sealed record Attribution(string? Patch, AttributionBasis Basis, string Evidence)
{
    public bool Attributed => Patch is not null;

    /// <summary>The basis as the API spells it: module, function, taint, none.</summary>
    public static string Name(AttributionBasis basis) => basis.ToString().ToLowerInvariant();
}

/// <summary>The attribution rules (docs/operations.md, "Kernel health guard").</summary>
public static class HealthAttribution
{
    /// <summary>
    /// Attributes a report read at <paramref name="at"/> to the patch whose window is open and whose module or
    /// replaced function a reliable frame names. A module frame is stronger than a function name (a replaced
    /// function's old code shows only in tasks that have not switched); of two patches equally named, the one whose
    /// transition completed last. A livepatch core error names its patch in its text.
    /// </summary>
    public static Attribution Attribute(KernelReport report, IEnumerable<HealthWindow> windows, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(windows);
        var all = windows.ToList();
        var open = all.Where(w => w.IsOpenAt(at)).OrderByDescending(w => w.OpenedAt).ToList();
        var reliable = report.Frames.Where(f => f.Reliable).ToList();

        foreach (var window in open)
        {
            if (reliable.FirstOrDefault(f => f.Module is { } m && SameModule(m, window.Patch)) is { } frame)
            {
                return new Attribution(window.Patch, AttributionBasis.Module, $"the frame {frame.Text} is in the patch module {window.Patch}");
            }

            if (report.Kind == KernelReportKind.LivepatchError && NamesPatch(report.Headline, window.Patch))
            {
                return new Attribution(window.Patch, AttributionBasis.Module, $"the livepatch core names {window.Patch}");
            }
        }

        foreach (var window in open)
        {
            if (reliable.FirstOrDefault(f => window.Functions.Contains(f.Function)) is { } frame)
            {
                return new Attribution(window.Patch, AttributionBasis.Function, $"the frame {frame.Text} is {frame.Function}, which {window.Patch} replaces");
            }
        }

        // Never silent: say why nothing was tied, naming a patch whose window has closed if the report names it.
        var closed = all.Where(w => !w.IsOpenAt(at)).FirstOrDefault(w => reliable.Any(f => (f.Module is { } m && SameModule(m, w.Patch)) || w.Functions.Contains(f.Function)));
        if (closed is not null)
        {
            return new Attribution(null, AttributionBasis.None, $"it names {closed.Patch}, but that patch's health window ended at {closed.ClosesAt:u}");
        }

        if (open.Count == 0)
        {
            return new Attribution(null, AttributionBasis.None, "no patch is in its health window");
        }

        return reliable.Count == 0
            ? new Attribution(null, AttributionBasis.None, "it has no reliable call trace frame, and its text names no patch")
            : new Attribution(null, AttributionBasis.None, $"no reliable frame is in {string.Join(", ", open.Select(w => w.Patch))} or names a function they replace");
    }

    /// <summary>
    /// A new taint bit with no report that explains it goes, weakly, to the patch whose window opened last, if the
    /// bit is the first new taint of that window.
    /// </summary>
    public static Attribution AttributeTaint(char letter, IEnumerable<HealthWindow> windows, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var window = windows.Where(w => w.IsOpenAt(at)).OrderByDescending(w => w.OpenedAt).FirstOrDefault();
        if (window is null)
        {
            return new Attribution(null, AttributionBasis.None, "no patch is in its health window");
        }

        return window.TaintSeen
            ? new Attribution(null, AttributionBasis.None, $"it is not the first new taint since {window.Patch}'s transition completed")
            : new Attribution(window.Patch, AttributionBasis.Taint, $"the taint {letter} is the first new one since {window.Patch}'s transition completed at {window.OpenedAt:u}, and no log record says where it came from");
    }

    /// <summary>Module names compare with '-' read as '_', as the kernel does.</summary>
    private static bool SameModule(string a, string b) => string.Equals(a.Replace('-', '_'), b.Replace('-', '_'), StringComparison.Ordinal);

    private static bool NamesPatch(string text, string patch) =>
        text.Contains($"'{patch}'", StringComparison.Ordinal) || text.Contains($"\"{patch}\"", StringComparison.Ordinal) || text.Contains($" {patch}:", StringComparison.Ordinal);
}

/// <summary>The taint bits the guard watches: W (a warning), D (an oops or BUG), L (a soft lockup).</summary>
public static class HealthTaint
{
    public static readonly ImmutableArray<(int Bit, char Letter, KernelReportKind Kind)> Watched =
    [
        (9, 'W', KernelReportKind.Warning),
        (7, 'D', KernelReportKind.Bug),
        (14, 'L', KernelReportKind.SoftLockup),
    ];

    /// <summary>The watched bits set in <paramref name="current"/> and not in <paramref name="previous"/>.</summary>
    public static IEnumerable<(int Bit, char Letter, KernelReportKind Kind)> NewBits(ulong previous, ulong current) =>
        Watched.Where(w => (current & (1UL << w.Bit)) != 0 && (previous & (1UL << w.Bit)) == 0);
}

/// <summary>
/// Keeps a flood of kernel reports from flooding the guard's output: at most <c>max</c> reports are handled per
/// minute; the rest are counted and said in one line when reports are handled again.
/// </summary>
public sealed class ReportRateLimit(int max)
{
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(1);
    private DateTimeOffset _periodStart = DateTimeOffset.MinValue;
    private int _count;

    /// <summary>Reports dropped since the last one let through.</summary>
    public long Suppressed { get; private set; }

    /// <summary>Reports dropped in total.</summary>
    public long SuppressedTotal { get; private set; }

    /// <summary>Whether a report at <paramref name="now"/> may be handled; when it may, <paramref name="suppressedBefore"/> says how many were dropped since the last.</summary>
    public bool TryAcquire(DateTimeOffset now, out long suppressedBefore)
    {
        if (now - _periodStart >= Period || now < _periodStart)
        {
            _periodStart = now;
            _count = 0;
        }

        if (_count >= max)
        {
            Suppressed++;
            SuppressedTotal++;
            suppressedBefore = 0;
            return false;
        }

        _count++;
        suppressedBefore = Suppressed;
        Suppressed = 0;
        return true;
    }
}

using System.Collections.Immutable;

namespace LivePatchAgent.Core.Health;

/// <summary>What the guard does with a report attributed to a patch (Health:OnKernelWarning, Health:OnKernelBug).</summary>
public enum HealthAction
{
    /// <summary>Unload the patch, quarantine it, and re-apply the last known good cumulative patch.</summary>
    Revert,

    /// <summary>Report it (event, D-Bus signal, log, status); the patch stays.</summary>
    Alert,

    /// <summary>Record it in the status only.</summary>
    None,
}

/// <summary>Whether the guard reads the kernel log.</summary>
public enum HealthReaderState
{
    /// <summary>Not started yet.</summary>
    Starting,

    /// <summary>Reading the kernel log.</summary>
    Watching,

    /// <summary>The kernel log does not exist under the host root (a container without /dev/kmsg): only the taint mask is watched.</summary>
    Unavailable,

    /// <summary>Reading failed; it is retried, and the daemon is degraded meanwhile. Only the taint mask is watched.</summary>
    Failed,
}

/// <summary>One kernel report as the guard handled it.</summary>
/// <param name="Id">A number that increases by one per handled report (in this run of the daemon).</param>
/// <param name="At">When livepatchd read it.</param>
/// <param name="Kind">What the kernel complained about.</param>
/// <param name="Headline">The line that says so, or the taint that was set.</param>
/// <param name="Attribution">To which patch, how, and on what evidence.</param>
/// <param name="Action">What the guard did.</param>
/// <param name="Outcome">The action in words: "reverted and quarantined (operation 12)", "alert only (Health:OnKernelWarning=alert)".</param>
public sealed record HealthReportView(long Id, DateTimeOffset At, KernelReportKind Kind, string Headline, Attribution Attribution, HealthAction Action, string Outcome)
{
    /// <summary>The kernel log records of the report (at most a few dozen lines), empty for a taint.</summary>
    public ImmutableArray<string> Lines { get; init; } = [];

    /// <summary>The kmsg sequence number of its first record; null for a taint.</summary>
    public ulong? Sequence { get; init; }

    /// <summary>The quarantine operation it started, when it reverted.</summary>
    public long? OperationId { get; init; }

    /// <summary>True when the report came from a new taint bit rather than a log record.</summary>
    public bool FromTaint { get; init; }

    /// <summary>One line for the log, events and D-Bus.</summary>
    public string Summary => Attribution.Attributed
        ? $"kernel {KernelReport.Name(Kind)} attributed to {Attribution.Patch} by {Attribution.Name(Attribution.Basis)} ({Attribution.Evidence}): {Headline}; {Outcome}"
        : $"kernel {KernelReport.Name(Kind)} not attributed to a patch ({Attribution.Evidence}): {Headline}";
}

/// <summary>A patch taken out by the guard, kept out of start-up apply and lpctl apply until released.</summary>
/// <param name="Name">The patch (module) name.</param>
/// <param name="Sha256">The module's SHA-256 when livepatchd loaded it; only that build is held back. Null: every build of the name.</param>
/// <param name="QuarantinedAt">When.</param>
/// <param name="Kind">The kind of kernel report.</param>
/// <param name="Basis">How it was attributed.</param>
/// <param name="Evidence">The attribution's evidence.</param>
/// <param name="Headline">The report's headline.</param>
/// <param name="By">Who quarantined it: "livepatchd (Health:OnKernelWarning=revert)".</param>
public sealed record QuarantineEntry(string Name, string? Sha256, DateTimeOffset QuarantinedAt, KernelReportKind Kind, AttributionBasis Basis, string Evidence, string Headline, string By)
{
    /// <summary>The operation that quarantined it.</summary>
    public long? OperationId { get; init; }

    /// <summary>Why start-up apply and lpctl apply skip it, in one sentence.</summary>
    public string Reason => $"quarantined at {QuarantinedAt:u} by {By}: kernel {KernelReport.Name(Kind)} attributed by {Attribution.Name(Basis)} ({Evidence}): {Headline}; `lpctl quarantine release {Name}` lets it back in";

    /// <summary>Whether this entry holds back the installed module <paramref name="name"/> with <paramref name="sha256"/>.</summary>
    public bool Holds(string name, string? sha256) => Name == name && (Sha256 is null || sha256 is null || string.Equals(Sha256, sha256, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The guard's state in the StateStore: what gRPC, lpctl status and D-Bus show.</summary>
public sealed record HealthView
{
    public static HealthView Initial { get; } = new();

    public HealthReaderState Reader { get; init; } = HealthReaderState.Starting;

    /// <summary>Why the reader is unavailable or failed.</summary>
    public string? ReaderProblem { get; init; }

    /// <summary>The kernel log it reads.</summary>
    public string KmsgPath { get; init; } = string.Empty;

    public HealthAction OnKernelWarning { get; init; } = HealthAction.Alert;

    public HealthAction OnKernelBug { get; init; } = HealthAction.Revert;

    public TimeSpan Window { get; init; }

    /// <summary>The open health windows.</summary>
    public ImmutableArray<HealthWindow> Windows { get; init; } = [];

    /// <summary>The last reports handled, newest last.</summary>
    public ImmutableArray<HealthReportView> Recent { get; init; } = [];

    /// <summary>The quarantined patches.</summary>
    public ImmutableArray<QuarantineEntry> Quarantined { get; init; } = [];

    /// <summary>Kernel log records lost (overwritten before they were read).</summary>
    public ulong RecordsMissed { get; init; }

    /// <summary>Reports dropped by the rate limit (Health:MaxReportsPerMinute).</summary>
    public long ReportsSuppressed { get; init; }

    /// <summary>The last report handled, for D-Bus; null before the first.</summary>
    public HealthReportView? Last => Recent.IsEmpty ? null : Recent[^1];
}

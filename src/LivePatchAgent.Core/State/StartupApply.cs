using System.Collections.Immutable;

namespace LivePatchAgent.Core.State;

/// <summary>Start-up apply's state, as lpctl status, D-Bus and the metrics show it (one copy, in the StateStore).</summary>
/// <param name="Phase">Where it is.</param>
/// <param name="Reason">Why it is disabled or interrupted; null otherwise.</param>
/// <param name="Interrupted">The apply an earlier boot did not finish, while the crash-loop guard holds.</param>
/// <param name="KernelRelease">The kernel it applied for.</param>
/// <param name="Results">What it did with each installed patch.</param>
public sealed record StartupApplyStatus(StartupApplyPhase Phase, string? Reason, InterruptedApply? Interrupted, string? KernelRelease, ImmutableArray<ApplyResultItem> Results)
{
    public static StartupApplyStatus Pending { get; } = new(StartupApplyPhase.Pending, null, null, null, []);

    /// <summary>The operation of the last run (its id in the journal), when there was one.</summary>
    public long? OperationId { get; init; }
}

public enum StartupApplyPhase
{
    Pending,
    Running,
    Done,
    Disabled,
    Interrupted,
}

/// <summary>An apply that a boot did not finish: the crash-loop marker's facts.</summary>
/// <param name="Patch">The patch being applied when the machine went down.</param>
/// <param name="BootId">The boot it happened in.</param>
/// <param name="StartedAt">When that apply started.</param>
/// <param name="KernelRelease">The kernel the patch was installed for.</param>
/// <param name="Damage">Set when the marker file itself could not be read.</param>
public sealed record InterruptedApply(string Patch, string BootId, DateTimeOffset StartedAt, string KernelRelease, string? Damage);

/// <summary>What one apply did with one installed patch.</summary>
/// <param name="Name">The patch.</param>
/// <param name="Outcome">Applied, already loaded, superseded or failed.</param>
/// <param name="Reason">The error reason of a failure.</param>
/// <param name="Message">One sentence.</param>
public sealed record ApplyResultItem(string Name, ApplyResultKind Outcome, string? Reason, string Message)
{
    /// <summary>The load operation that applied it (or failed to).</summary>
    public long? OperationId { get; init; }
}

public enum ApplyResultKind
{
    Applied,
    AlreadyLoaded,
    Superseded,
    Failed,

    /// <summary>Held back: the kernel health guard quarantined it (lpctl quarantine release lets it back in).</summary>
    Quarantined,
}

/// <summary>What raised a degraded reason; each source has at most one reason at a time.</summary>
public readonly record struct DegradedSource(string Name)
{
    /// <summary>The D-Bus connection is lost.</summary>
    public static DegradedSource Bus { get; } = new("dbus");

    /// <summary>The crash-loop guard holds start-up apply back.</summary>
    public static DegradedSource CrashLoopGuard { get; } = new("crash-loop-guard");

    /// <summary>The kernel health guard cannot read the kernel log.</summary>
    public static DegradedSource KernelLog { get; } = new("kernel-log");

    public override string ToString() => Name;
}

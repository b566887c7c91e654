using System.Collections.Immutable;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Core.Operations;

/// <summary>What an operation does. The names are the journal's and the API's (docs/api.md, "Operations").</summary>
public enum OperationKind
{
    Load,
    Unload,
    Install,
    Uninstall,
    Apply,
    StartupApply,
    Revert,
    Force,
    Kick,
    Cleanup,

    /// <summary>The health guard takes a patch out: quarantine it, unload it, re-apply the last known good one.</summary>
    Quarantine,

    /// <summary>A quarantined patch is let back in.</summary>
    Release,
}

/// <summary>Where an operation is. The last four are final.</summary>
public enum OperationPhase
{
    /// <summary>The module is being decompressed, sealed and checked; nothing has reached the kernel.</summary>
    Verifying,

    /// <summary>Another patch's transition is running; the kernel takes one at a time, so this one waits its turn.</summary>
    Waiting,

    /// <summary>The kernel is loading the module (finit_module); it cannot be stopped half-way.</summary>
    Loading,

    /// <summary>The patching transition runs: tasks switch to the new code.</summary>
    Patching,

    /// <summary>The unpatching transition runs: tasks switch back to the original code.</summary>
    Unpatching,

    /// <summary>The transition is over; the module is being removed once the kernel lets go of it.</summary>
    Removing,

    /// <summary>Acting on a running transition (revert, force, kick) or on the store (install, uninstall).</summary>
    Acting,

    Done,
    Failed,
    Cancelled,
    Interrupted,
}

/// <summary>
/// How an operation ended: set once by the daemon, and rendered (never derived again) by the journal, lpctl's table,
/// its JSON and its exit code.
/// </summary>
public enum OperationResultKind
{
    /// <summary>What was asked took full effect.</summary>
    Completed,

    /// <summary>The transition completed because it was forced: tasks that were still blocked may run the old code.</summary>
    Forced,

    /// <summary>The transition was reversed (by policy, by an operator, or by the kernel): what was asked did not take effect.</summary>
    Reversed,

    /// <summary>The deadline passed while the transition still ran; it goes on in the kernel.</summary>
    StillRunning,

    /// <summary>The caller asked not to wait for the transition; the module is loaded and its transition goes on.</summary>
    NotWaited,

    /// <summary>A check or the kernel refused before anything changed.</summary>
    Refused,

    /// <summary>Something failed after the operation had acted.</summary>
    Failed,

    /// <summary>Cancelled (lpctl cancel, or livepatchd stopping) where that was safe.</summary>
    Cancelled,

    /// <summary>livepatchd stopped (crashed, killed) before the operation finished; the kernel's state afterwards is recorded.</summary>
    Interrupted,
}

/// <summary>The one result of an operation.</summary>
/// <param name="Kind">How it ended.</param>
/// <param name="Reason">The error reason (docs/errors.md) when it did not complete; null for completed and not-waited.</param>
/// <param name="Message">One specific sentence: what happened, and what to do when something is left to do.</param>
public sealed record OperationResult(OperationResultKind Kind, ErrorReason? Reason, string Message)
{
    /// <summary>Who reversed or forced the transition: "livepatchd (Transitions:OnStall=revert)", "lpctl[1234] uid 0".</summary>
    public string? By { get; init; }

    /// <summary>For a forced transition: the tasks that were still blocked when it was forced, as the last scan saw them.</summary>
    public ImmutableArray<string> OldCodeTasks { get; init; } = [];

    /// <summary>For a forced transition: the modules it pinned until reboot.</summary>
    public ImmutableArray<string> Pinned { get; init; } = [];

    /// <summary>The journal's outcome word for <paramref name="kind"/> (also the API's and lpctl's).</summary>
    public static string Word(OperationResultKind kind) => kind switch
    {
        OperationResultKind.Completed => "completed",
        OperationResultKind.Forced => "forced",
        OperationResultKind.Reversed => "reversed",
        OperationResultKind.StillRunning => "still-running",
        OperationResultKind.NotWaited => "not-waited",
        OperationResultKind.Refused => "refused",
        OperationResultKind.Failed => "failed",
        OperationResultKind.Cancelled => "cancelled",
        OperationResultKind.Interrupted => "interrupted",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>
    /// Reads a journal outcome, including the words written before operations had result kinds: "ok" (completed)
    /// and "timeout" (still running). Null for a word it does not know.
    /// </summary>
    public static OperationResultKind? ParseWord(string? word) => word switch
    {
        "completed" or "ok" => OperationResultKind.Completed,
        "forced" => OperationResultKind.Forced,
        "reversed" => OperationResultKind.Reversed,
        "still-running" or "timeout" => OperationResultKind.StillRunning,
        "not-waited" => OperationResultKind.NotWaited,
        "refused" => OperationResultKind.Refused,
        "failed" => OperationResultKind.Failed,
        "cancelled" => OperationResultKind.Cancelled,
        "interrupted" => OperationResultKind.Interrupted,
        _ => null,
    };

    /// <summary>The phase an operation ends in with this result.</summary>
    public OperationPhase FinalPhase => Kind switch
    {
        OperationResultKind.Completed or OperationResultKind.Forced or OperationResultKind.NotWaited => OperationPhase.Done,
        OperationResultKind.Cancelled => OperationPhase.Cancelled,
        OperationResultKind.Interrupted => OperationPhase.Interrupted,
        _ => OperationPhase.Failed,
    };
}

/// <summary>Names of kinds and phases as the journal and the API spell them.</summary>
public static class OperationNames
{
    public static string Of(OperationKind kind) => kind switch
    {
        OperationKind.StartupApply => "startup-apply",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public static OperationKind? ParseKind(string? name) => name switch
    {
        "load" => OperationKind.Load,
        "unload" => OperationKind.Unload,
        "install" => OperationKind.Install,
        "uninstall" => OperationKind.Uninstall,
        "apply" => OperationKind.Apply,
        "startup-apply" => OperationKind.StartupApply,
        "revert" => OperationKind.Revert,
        "force" => OperationKind.Force,
        "kick" => OperationKind.Kick,
        "cleanup" => OperationKind.Cleanup,
        "quarantine" => OperationKind.Quarantine,
        "release" => OperationKind.Release,
        _ => null,
    };

    public static string Of(OperationPhase phase) => phase.ToString().ToLowerInvariant();
}

/// <summary>What one operation produced besides its result (a load's verification report, an apply's results, ...).</summary>
public abstract record OperationDetail;

/// <summary>
/// One operation as clients see it at a moment: an immutable state that the daemon replaces as the operation moves
/// (phase, progress) and completes (result, once).
/// </summary>
public sealed record OperationState
{
    /// <summary>The operation id: the audit journal's id of its started entry.</summary>
    public required long Id { get; init; }

    public required OperationKind Kind { get; init; }

    /// <summary>The patch it acts on; for a load, known once the module has been read.</summary>
    public string? Patch { get; init; }

    public required OperationPhase Phase { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>"lpctl[1234] uid 0", or "livepatchd" for the daemon's own operations.</summary>
    public required string Caller { get; init; }

    public int? CallerUid { get; init; }

    /// <summary>What it is doing now, in one sentence.</summary>
    public string Message { get; init; } = string.Empty;

    /// <summary>The deadline livepatchd keeps for it (Limits:OperationTimeout, or the request's own shorter one).</summary>
    public TimeSpan Timeout { get; init; }

    /// <summary>Set once, when it ends.</summary>
    public OperationResult? Result { get; init; }

    /// <summary>The transition's progress while it is patching or unpatching.</summary>
    public TransitionProgress? Progress { get; init; }

    /// <summary>While the transition is stalled: the first task that blocks it, e.g. "cat 1234 in lpdemo_sleeper_wait".</summary>
    public string? Blocking { get; init; }

    /// <summary>While the transition is stalled: how many tasks block it.</summary>
    public int BlockingTasks { get; init; }

    /// <summary>What it produced (set with the result).</summary>
    public OperationDetail? Detail { get; init; }

    public bool Done => Result is not null;
}

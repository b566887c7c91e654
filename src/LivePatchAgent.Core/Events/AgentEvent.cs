using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Core.Events;

/// <summary>One observed change of state. <see cref="Sequence"/> is assigned when the event is published.</summary>
public sealed record AgentEvent
{
    public long Sequence { get; init; }

    public required DateTimeOffset Time { get; init; }

    public required AgentEventKind Kind { get; init; }

    public string? Patch { get; init; }

    public required string Message { get; init; }

    public PatchState? FromState { get; init; }

    public PatchState? ToState { get; init; }

    /// <summary>For <see cref="AgentEventKind.Lagged"/>: events this subscriber missed.</summary>
    public long Dropped { get; init; }

    /// <summary>For <see cref="AgentEventKind.KernelChanged"/>: the new release.</summary>
    public string? KernelRelease { get; init; }

    /// <summary>For stall events: the number of blocking threads.</summary>
    public int BlockingTasks { get; init; }

    /// <summary>For stall events: how long the transition has run.</summary>
    public TimeSpan? Elapsed { get; init; }

    /// <summary>For a failed or skipped apply: the error reason (docs/errors.md).</summary>
    public string? Reason { get; init; }
}

/// <summary>The kinds of event; the gRPC contract mirrors them one to one.</summary>
public enum AgentEventKind
{
    Lagged,
    KernelChanged,
    PatchAppeared,
    TransitionStarted,
    TransitionCompleted,
    TransitionReversed,
    PatchDisabled,
    PatchRemoved,
    TaintChanged,
    SupportChanged,
    TransitionStalled,
    TransitionRecovered,
    TasksKicked,
    TransitionReverted,
    TransitionForced,
    StallUnresolved,

    /// <summary>An installed patch was re-verified and loaded by start-up apply (or lpctl apply).</summary>
    InstalledPatchApplied,

    /// <summary>An installed patch was refused or failed to load; <see cref="AgentEvent.Reason"/> says why.</summary>
    InstalledPatchFailed,

    /// <summary>Start-up apply did not run: kill switch, or a crash-loop marker from an earlier boot.</summary>
    StartupApplySkipped,

    /// <summary>A module replaced atomically by a load was removed once its reference count was 0.</summary>
    LeftoverRemoved,

    /// <summary>The CVE posture changed: a patch loaded or unloaded, or an advisory file changed.</summary>
    PostureChanged,

    /// <summary>The kernel complained (a warning, BUG/oops, lockup, RCU stall, hung task, livepatch error, or a new taint); the message says what, to which patch it was attributed and how, and what was done.</summary>
    KernelReport,

    /// <summary>The health guard quarantined a patch (after unloading it) so that apply skips it.</summary>
    PatchQuarantined,

    /// <summary>A quarantined patch was released (lpctl quarantine release).</summary>
    QuarantineReleased,
}

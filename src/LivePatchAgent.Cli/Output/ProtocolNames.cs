using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Output;

/// <summary>
/// The kebab-case words lpctl prints for the protocol's enums, in tables and in JSON alike. A value this lpctl
/// does not know (a newer daemon) prints as "unknown" rather than as a number.
/// </summary>
internal static class ProtocolNames
{
    public const string Unknown = "unknown";

    public static string Of(AgentState state) => state switch
    {
        AgentState.Idle => "idle",
        AgentState.Transitioning => "transitioning",
        AgentState.Stalled => "stalled",
        AgentState.Unsupported => "unsupported",
        AgentState.Degraded => "degraded",
        _ => Unknown,
    };

    public static string Of(PatchState state) => state switch
    {
        PatchState.Enabled => "enabled",
        PatchState.Enabling => "enabling",
        PatchState.Disabling => "disabling",
        PatchState.Disabled => "disabled",
        PatchState.Stalled => "stalled",
        _ => Unknown,
    };

    /// <summary>The state an event moved from or to; null when the event is not about a patch.</summary>
    public static string? OfOptional(PatchState state) => state == PatchState.Unspecified ? null : Of(state);

    public static string Of(EventKind kind) => kind switch
    {
        EventKind.Lagged => "lagged",
        EventKind.KernelChanged => "kernel-changed",
        EventKind.PatchAppeared => "patch-appeared",
        EventKind.TransitionStarted => "transition-started",
        EventKind.TransitionCompleted => "transition-completed",
        EventKind.TransitionReversed => "transition-reversed",
        EventKind.PatchDisabled => "patch-disabled",
        EventKind.PatchRemoved => "patch-removed",
        EventKind.TaintChanged => "taint-changed",
        EventKind.SupportChanged => "support-changed",
        EventKind.TransitionStalled => "transition-stalled",
        EventKind.TransitionRecovered => "transition-recovered",
        EventKind.TasksKicked => "tasks-kicked",
        EventKind.TransitionReverted => "transition-reverted",
        EventKind.TransitionForced => "transition-forced",
        EventKind.StallUnresolved => "stall-unresolved",
        EventKind.InstalledPatchApplied => "installed-patch-applied",
        EventKind.InstalledPatchFailed => "installed-patch-failed",
        EventKind.StartupApplySkipped => "startup-apply-skipped",
        EventKind.LeftoverRemoved => "leftover-removed",
        EventKind.PostureChanged => "posture-changed",
        EventKind.KernelReport => "kernel-report",
        EventKind.PatchQuarantined => "patch-quarantined",
        EventKind.QuarantineReleased => "quarantine-released",
        _ => Unknown,
    };

    public static string Of(CheckResult result) => result switch
    {
        CheckResult.Passed => "passed",
        CheckResult.Failed => "failed",
        CheckResult.Skipped => "skipped",
        _ => Unknown,
    };

    /// <summary>Protobuf has no null string: "" means unknown or absent.</summary>
    public static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

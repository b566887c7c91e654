using System.Collections.Immutable;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Posture;
using LivePatchAgent.Core.State;

namespace LivePatchAgent.Daemon.DBus;

/// <summary>
/// The property values of org.livepatchd.Agent1 for one <see cref="AgentView"/>. Immutable; the publisher keeps
/// the last one it announced and compares the next against it, so PropertiesChanged carries exactly the
/// properties whose value changed.
/// </summary>
internal sealed record AgentBusState
{
    public required string Version { get; init; }

    public required string KernelRelease { get; init; }

    public required bool LivepatchSupported { get; init; }

    public required string State { get; init; }

    public required string TransitionPatch { get; init; }

    /// <summary>When the running transition was first seen; null when none runs.</summary>
    public DateTimeOffset? TransitionStartedAt { get; init; }

    /// <summary>The running transition's tasks and those not yet switched; 0 when none runs.</summary>
    public uint TransitionTasksTotal { get; init; }

    public uint TransitionTasksPending { get; init; }

    /// <summary>The first task that blocks a stalled transition; "" otherwise.</summary>
    public string TransitionBlocking { get; init; } = string.Empty;

    public required uint PatchCount { get; init; }

    public required uint EnabledPatchCount { get; init; }

    public required ImmutableArray<string> ForcedPatches { get; init; }

    public required ulong TaintMask { get; init; }

    /// <summary>The kernel's lockdown mode (none, integrity, confidentiality); "" when unknown.</summary>
    public string KernelLockdown { get; init; } = string.Empty;

    /// <summary>Whether the kernel enforces module signatures: "enforced", "off"; "" when unknown.</summary>
    public string SignatureEnforcement { get; init; } = string.Empty;

    public required string TaintFlags { get; init; }

    public required string LastError { get; init; }

    /// <summary>Every reason the daemon is degraded for, in the store's order; empty when it is not.</summary>
    public ImmutableArray<string> DegradedReasons { get; init; } = [];

    /// <summary>Open CVE advisories for the running kernel package (0 without a posture).</summary>
    public uint OpenCveCount { get; init; }

    /// <summary>The highest severity among them: critical, high, medium, low, none, unknown; "" when none is open.</summary>
    public string HighestOpenSeverity { get; init; } = string.Empty;

    /// <summary>Advisories a loaded live patch closes.</summary>
    public uint FixedLiveCveCount { get; init; }

    /// <summary>The effective kernel package level the loaded patches bring (lpctl uname); "" without a posture.</summary>
    public string EffectiveKernelVersion { get; init; } = string.Empty;

    /// <summary>When a property that sends PropertiesChanged last changed.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The property values <paramref name="view"/> implies; <see cref="UpdatedAt"/> is set by the caller.</summary>
    public static AgentBusState From(AgentView view, string version, DateTimeOffset updatedAt)
    {
        ArgumentNullException.ThrowIfNull(view);
        var kernel = view.Snapshot.Kernel;
        return new AgentBusState
        {
            Version = version,
            KernelRelease = kernel.Release ?? string.Empty,
            LivepatchSupported = kernel.LivepatchSupported,
            State = StateName(view.State),
            TransitionPatch = view.Transition?.Patch ?? string.Empty,
            TransitionStartedAt = view.Transition?.StartedAt,
            TransitionTasksTotal = view.Transition is null ? 0 : (uint)(view.Snapshot.Progress?.TasksTotal ?? 0),
            TransitionTasksPending = view.Transition is null ? 0 : (uint)(view.Snapshot.Progress?.TasksPending ?? 0),
            TransitionBlocking = view.Stall?.FirstTask ?? string.Empty,
            PatchCount = (uint)view.PatchCount,
            EnabledPatchCount = (uint)view.EnabledPatchCount,
            // The kernel never says which modules a force pinned; the supervisor's pin store does.
            ForcedPatches = [.. view.ForcedModules.Order(StringComparer.Ordinal)],
            TaintMask = kernel.Taint?.Value ?? 0,
            TaintFlags = kernel.Taint?.Letters ?? string.Empty,
            KernelLockdown = kernel.Lockdown ?? string.Empty,
            SignatureEnforcement = kernel.SigEnforce switch { true => "enforced", false => "off", null => string.Empty },
            LastError = CurrentProblem(view),
            DegradedReasons = [.. view.DegradedReasons],
            OpenCveCount = view.Posture?.Posture is { IsKnown: true } p ? (uint)p.Summary.Open : 0,
            HighestOpenSeverity = view.Posture?.Posture.Summary.HighestOpen is { } highest ? highest.ToText() : string.Empty,
            FixedLiveCveCount = view.Posture?.Posture is { IsKnown: true } q ? (uint)q.Summary.FixedLive : 0,
            EffectiveKernelVersion = view.Posture?.Posture is { IsKnown: true } r ? r.Summary.EffectiveLevel ?? r.Package?.Version ?? string.Empty : string.Empty,
            UpdatedAt = updatedAt,
        };
    }

    /// <summary>The State property's words; docs/dbus.md and the XML list the same five.</summary>
    public static string StateName(AgentState state) => state switch
    {
        AgentState.Idle => "idle",
        AgentState.Transitioning => "transitioning",
        AgentState.Stalled => "stalled",
        AgentState.Unsupported => "unsupported",
        AgentState.Degraded => "degraded",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "an agent state without a D-Bus name"),
    };

    /// <summary>A patch state as GetPatches and PatchStateChanged spell it.</summary>
    public static string PatchStateName(PatchState state) => state switch
    {
        PatchState.Enabled => "enabled",
        PatchState.Enabling => "enabling",
        PatchState.Disabling => "disabling",
        PatchState.Disabled => "disabled",
        PatchState.Stalled => "stalled",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "a patch state without a D-Bus name"),
    };

    /// <summary>Tasks that had not switched at the supervisor's last scan of a stalled transition; null while not stalled.</summary>
    public static uint? BlockingTaskCount(AgentView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return view.Stall is { } stall ? (uint)Math.Max(stall.BlockingTasks, 0) : null;
    }

    /// <summary>Seconds the running transition has taken at <paramref name="now"/>; 0 when none runs.</summary>
    public double TransitionSecondsAt(DateTimeOffset now) =>
        TransitionStartedAt is { } started && now > started ? (now - started).TotalSeconds : 0;

    private static string CurrentProblem(AgentView view)
    {
        if (view.DegradedReasons.Count > 0)
        {
            return view.DegradedReasons[0];
        }

        return view.Snapshot.Problems.IsDefaultOrEmpty
            ? string.Empty
            : $"{view.Snapshot.Problems[0].Path}: {view.Snapshot.Problems[0].Message}";
    }
}

using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Core.State;

/// <summary>
/// The latest snapshot plus what the daemon derives from it. Immutable: a reader holds one consistent view
/// for the whole of a request.
/// </summary>
public sealed record AgentView
{
    public required KernelSnapshot Snapshot { get; init; }

    public required AgentState State { get; init; }

    /// <summary>The running transition; null when none runs.</summary>
    public TransitionView? Transition { get; init; }

    /// <summary>What the supervisor found when the running transition stalled; null while it has not.</summary>
    public StallView? Stall { get; init; }

    /// <summary>Modules pinned by a forced transition in this boot (never removable until reboot).</summary>
    public IReadOnlySet<string> ForcedModules { get; init; } = new HashSet<string>();

    /// <summary>Conditions that make the daemon less than fully useful, e.g. "the D-Bus connection is lost".</summary>
    public IReadOnlyList<string> DegradedReasons { get; init; } = [];

    public int PatchCount => Snapshot.Patches.Length;

    public int EnabledPatchCount => Snapshot.Patches.Count(p => p.State == PatchState.Enabled);

    /// <summary>The state of a patch with what the daemon knows beyond sysfs (a stalled transition).</summary>
    public PatchState StateOf(LivePatch patch) =>
        State == AgentState.Stalled && Transition?.Patch == patch.Name ? PatchState.Stalled : patch.State;
}

/// <summary>A stalled transition: the one it belongs to, and what held it at the last scan.</summary>
public sealed record StallView(string Patch, bool Patching, DateTimeOffset StalledAt, int BlockingTasks, string Summary);

/// <summary>A transition as the daemon has watched it.</summary>
/// <param name="Patch">The transitioning patch.</param>
/// <param name="Patching">True for a patching transition (target enabled), false for unpatching.</param>
/// <param name="StartedAt">When the daemon first saw the transition in this direction.</param>
public sealed record TransitionView(string Patch, bool Patching, DateTimeOffset StartedAt)
{
    public TimeSpan ElapsedAt(DateTimeOffset now) => now > StartedAt ? now - StartedAt : TimeSpan.Zero;
}

/// <summary>The overall state of live patching on the host.</summary>
public enum AgentState
{
    Idle,
    Transitioning,
    Stalled,
    Unsupported,
    Degraded,
}

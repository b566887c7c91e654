using System.Collections.Immutable;
using LivePatchAgent.Core.Health;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;

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

    /// <summary>
    /// Conditions that make the daemon less than fully useful, e.g. "the D-Bus connection is lost", keyed by the
    /// source that raised them (<see cref="DegradedSource"/>).
    /// </summary>
    public ImmutableSortedDictionary<string, string> Degraded { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>The degraded reasons' messages, in the order of their sources.</summary>
    public IReadOnlyList<string> DegradedReasons => [.. Degraded.Values];

    /// <summary>The CVE posture; null until the daemon has evaluated it once.</summary>
    public PostureView? Posture { get; init; }

    /// <summary>
    /// The patch modules livepatchd loaded in this boot that are still there, by name, with the metadata verified
    /// on the way in (<see cref="MetadataOf"/>).
    /// </summary>
    public ImmutableDictionary<string, LoadedPatchRecord> LoadedPatches { get; init; } = ImmutableDictionary<string, LoadedPatchRecord>.Empty;

    /// <summary>The kernel health guard: reader, windows, recent reports, quarantined patches.</summary>
    public HealthView Health { get; init; } = HealthView.Initial;

    /// <summary>Start-up apply's status.</summary>
    public StartupApplyStatus StartupApply { get; init; } = StartupApplyStatus.Pending;

    /// <summary>For every replaced function, the patch whose version runs now (<see cref="FunctionOwnership"/>).</summary>
    public ImmutableDictionary<PatchedFunction, string> FunctionOwners
    {
        get
        {
            // Computed once per snapshot; keyed by it, so a view copied with another snapshot never sees a stale answer.
            var cached = _owners;
            if (cached is null || !ReferenceEquals(cached.Snapshot, Snapshot))
            {
                cached = new OwnersOf(Snapshot, FunctionOwnership.Serving(Snapshot));
                _owners = cached;
            }

            return cached.Owners;
        }
    }

    private OwnersOf? _owners;

    public int PatchCount => Snapshot.Patches.Length;

    public int EnabledPatchCount => Snapshot.Patches.Count(p => p.State == PatchState.Enabled);

    /// <summary>
    /// The security metadata of a registered patch: what livepatchd verified when it loaded the module in this boot
    /// (the module's signed or unsigned .modinfo, and the operator's install metadata where the module says nothing).
    /// Null when livepatchd did not load it (insmod, or before the record existed): then nothing is known.
    /// </summary>
    public PatchMetadata? MetadataOf(LivePatch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return LoadedPatches.TryGetValue(patch.Name, out var record) && record.Describes(Snapshot) ? record.Metadata : null;
    }

    /// <summary>The state of a patch with what the daemon knows beyond sysfs (a stalled transition).</summary>
    public PatchState StateOf(LivePatch patch) =>
        State == AgentState.Stalled && Transition?.Patch == patch.Name ? PatchState.Stalled : patch.State;
}

/// <summary>The function owners computed for one snapshot.</summary>
internal sealed record OwnersOf(KernelSnapshot Snapshot, ImmutableDictionary<PatchedFunction, string> Owners);

/// <summary>A stalled transition: the one it belongs to, and what held it at the last scan.</summary>
/// <param name="Patch">The transitioning patch.</param>
/// <param name="Patching">Its direction.</param>
/// <param name="StalledAt">When the supervisor found it stalled.</param>
/// <param name="BlockingTasks">How many threads hold it.</param>
/// <param name="Summary">What holds it, in one sentence.</param>
public sealed record StallView(string Patch, bool Patching, DateTimeOffset StalledAt, int BlockingTasks, string Summary)
{
    /// <summary>The first blocking thread in short, e.g. "cat 1234 in lpdemo_sleeper_wait"; null when none was found.</summary>
    public string? FirstTask { get; init; }
}

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

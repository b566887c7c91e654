using System.Collections.Immutable;
using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Core.State;

/// <summary>
/// The one source of truth: the latest <see cref="AgentView"/>. The kernel watcher writes it; gRPC, D-Bus and
/// the supervisor read it. Writers are serialised; readers never block.
/// </summary>
public sealed class StateStore
{
    private readonly Lock _writeLock = new();
    private readonly Dictionary<DegradedSource, string> _degraded = [];
    private HashSet<string> _forcedModules = new(StringComparer.Ordinal);
    private StartupApplyStatus _startupApply = StartupApplyStatus.Pending;
    private StallView? _stall;
    private PostureView? _posture;
    private Health.HealthView _health = Health.HealthView.Initial;
    private ImmutableDictionary<string, LoadedPatchRecord> _loadedPatches = ImmutableDictionary<string, LoadedPatchRecord>.Empty;
    private AgentView? _current;

    /// <summary>Raised after every update, on the updating thread, with the new view.</summary>
    public event Action<AgentView>? Changed;

    /// <summary>The latest view; throws until the first snapshot is in (the daemon takes it before serving).</summary>
    public AgentView Current => Volatile.Read(ref _current)
        ?? throw new InvalidOperationException("no kernel snapshot has been taken yet");

    public bool HasSnapshot => Volatile.Read(ref _current) is not null;

    /// <summary>Replaces the snapshot and recomputes the derived state.</summary>
    public AgentView Update(KernelSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        AgentView view;
        lock (_writeLock)
        {
            view = Publish(snapshot);
        }

        Changed?.Invoke(view);
        return view;
    }

    /// <summary>
    /// Sets the degraded reason of <paramref name="source"/> (replacing its previous one), or clears it with null.
    /// Reasons are keyed by what raised them, so a source that rewords its message never leaves the old one behind.
    /// </summary>
    public void SetDegraded(DegradedSource source, string? reason)
    {
        AgentView view;
        lock (_writeLock)
        {
            var changed = reason is null
                ? _degraded.Remove(source)
                : !_degraded.TryGetValue(source, out var old) || old != reason;
            if (reason is not null)
            {
                _degraded[source] = reason;
            }

            if (!changed || _current is null)
            {
                return;
            }

            view = Publish(_current.Snapshot);
        }

        Changed?.Invoke(view);
    }

    /// <summary>Replaces start-up apply's status (its one copy).</summary>
    public void SetStartupApply(StartupApplyStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        Replace(() => _startupApply = status);
    }

    /// <summary>Replaces the CVE posture (its one copy).</summary>
    public void SetPosture(PostureView posture)
    {
        ArgumentNullException.ThrowIfNull(posture);
        Replace(() => _posture = posture);
    }

    /// <summary>Replaces the health guard's state (its one copy).</summary>
    public void SetHealth(Health.HealthView health)
    {
        ArgumentNullException.ThrowIfNull(health);
        Replace(() => _health = health);
    }

    /// <summary>Marks the running transition as stalled (or updates what holds it); ignored if it already ended.</summary>
    public void SetStall(StallView stall)
    {
        ArgumentNullException.ThrowIfNull(stall);
        AgentView view;
        lock (_writeLock)
        {
            if (_current?.Transition is not { } t || t.Patch != stall.Patch || t.Patching != stall.Patching)
            {
                return;
            }

            _stall = stall;
            view = Publish(_current.Snapshot);
        }

        Changed?.Invoke(view);
    }

    /// <summary>Replaces the set of modules pinned by a forced transition.</summary>
    public void SetForcedModules(IEnumerable<string> modules)
    {
        Replace(() => _forcedModules = new HashSet<string>(modules, StringComparer.Ordinal));
    }

    /// <summary>Replaces the records of the patch modules livepatchd loaded in this boot.</summary>
    public void SetLoadedPatches(IEnumerable<LoadedPatchRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        Replace(() => _loadedPatches = records.ToImmutableDictionary(r => r.Name, StringComparer.Ordinal));
    }

    /// <summary>
    /// Replaces one piece of derived state under the write lock and republishes the current snapshot with it; before
    /// the first snapshot the piece is only kept, for the first view.
    /// </summary>
    private void Replace(Action change)
    {
        AgentView view;
        lock (_writeLock)
        {
            change();
            if (_current is null)
            {
                return;
            }

            view = Publish(_current.Snapshot);
        }

        Changed?.Invoke(view);
    }

    /// <summary>
    /// Builds and publishes the view of <paramref name="snapshot"/>; the caller holds the write lock. The setters
    /// republish the current snapshot from under the same lock, so a poll that lands meanwhile is never
    /// overwritten by the older snapshot.
    /// </summary>
    private AgentView Publish(KernelSnapshot snapshot)
    {
        var transition = DeriveTransition(_current?.Transition, snapshot);
        if (_stall is { } stall && (transition is null || stall.Patch != transition.Patch || stall.Patching != transition.Patching))
        {
            // A stall belongs to one transition; once that one is over, so is the stall.
            _stall = null;
        }

        var view = new AgentView
        {
            Snapshot = snapshot,
            Transition = transition,
            Stall = _stall,
            ForcedModules = _forcedModules,
            LoadedPatches = _loadedPatches = Prune(_loadedPatches, snapshot),
            State = DeriveState(snapshot, transition),
            Degraded = _degraded.ToImmutableSortedDictionary(kv => kv.Key.Name, kv => kv.Value, StringComparer.Ordinal),
            StartupApply = _startupApply,
            Posture = _posture,
            Health = _health,
        };
        Volatile.Write(ref _current, view);
        return view;
    }

    /// <summary>A record ends with its module: a newer snapshot without it means it was removed.</summary>
    private static ImmutableDictionary<string, LoadedPatchRecord> Prune(ImmutableDictionary<string, LoadedPatchRecord> records, KernelSnapshot snapshot) =>
        records.Values.All(r => r.Describes(snapshot)) ? records : records.Where(r => r.Value.Describes(snapshot)).ToImmutableDictionary(StringComparer.Ordinal);

    private static TransitionView? DeriveTransition(TransitionView? previous, KernelSnapshot snapshot)
    {
        if (snapshot.TransitioningPatch is not { } patch)
        {
            return null;
        }

        // The same patch in the same direction is the same transition: keep when it was first seen. A reversal
        // starts a new one, since the tasks now converge on the other state.
        return previous is { } p && p.Patch == patch.Name && p.Patching == patch.Enabled
            ? p
            : new TransitionView(patch.Name, patch.Enabled, snapshot.TakenAt);
    }

    private AgentState DeriveState(KernelSnapshot snapshot, TransitionView? transition)
    {
        if (!snapshot.Kernel.LivepatchSupported)
        {
            return AgentState.Unsupported;
        }

        if (transition is not null)
        {
            return _stall is not null ? AgentState.Stalled : AgentState.Transitioning;
        }

        return _degraded.Count > 0 ? AgentState.Degraded : AgentState.Idle;
    }
}

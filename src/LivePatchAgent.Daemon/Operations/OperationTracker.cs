using System.Collections.Immutable;
using System.Threading.Channels;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;

namespace LivePatchAgent.Daemon.Operations;

/// <summary>
/// The running and recent operations, as clients follow them (lpctl operations, lpctl wait, the progress line). An
/// operation's state is replaced, never edited: each change is published to the operation's followers. Transition
/// progress comes from the <see cref="StateStore"/>: each poll of a running transition updates the operations that
/// wait for it, so no operation polls the kernel itself.
/// </summary>
internal sealed class OperationTracker : IDisposable
{
    /// <summary>How many finished operations are kept in memory (older ones are in the audit journal).</summary>
    public const int RecentLimit = 100;

    private readonly Lock _lock = new();
    private readonly Dictionary<long, OperationHandle> _running = [];
    private readonly LinkedList<OperationState> _recent = new();
    private readonly Dictionary<(OperationKind, OperationResultKind), long> _totals = [];
    private readonly StateStore _store;

    public OperationTracker(StateStore store)
    {
        _store = store;
        _store.Changed += OnViewChanged;
    }

    /// <summary>Finished operations by kind and result since livepatchd started (the metrics' counters).</summary>
    public ImmutableDictionary<(OperationKind Kind, OperationResultKind Result), long> Totals
    {
        get
        {
            lock (_lock)
            {
                return _totals.ToImmutableDictionary();
            }
        }
    }

    /// <summary>Raised after an operation finished and <see cref="Totals"/> counts it, on the finishing thread.</summary>
    public event Action? OperationFinished;

    public void Dispose() => _store.Changed -= OnViewChanged;

    /// <summary>Registers a new operation in its first phase.</summary>
    public OperationHandle Begin(OperationState state, Func<OperationState, string?> cancelRefusal)
    {
        ArgumentNullException.ThrowIfNull(state);
        var handle = new OperationHandle(this, state, cancelRefusal);
        lock (_lock)
        {
            _running[state.Id] = handle;
        }

        return handle;
    }

    /// <summary>Adds operations that finished before this start (from the journal), so lpctl wait and operations know them.</summary>
    public void Remember(IEnumerable<OperationState> finished)
    {
        ArgumentNullException.ThrowIfNull(finished);
        lock (_lock)
        {
            foreach (var state in finished.Where(s => s.Done).OrderBy(s => s.Id))
            {
                AddRecent(state);
            }
        }
    }

    /// <summary>Running operations, then recent finished ones, newest first.</summary>
    public ImmutableArray<OperationState> List(bool includeFinished)
    {
        lock (_lock)
        {
            var running = _running.Values.Select(h => h.State).OrderByDescending(s => s.Id);
            return includeFinished ? [.. running, .. _recent] : [.. running];
        }
    }

    public OperationState? Find(long id)
    {
        lock (_lock)
        {
            return _running.TryGetValue(id, out var handle) ? handle.State : _recent.FirstOrDefault(s => s.Id == id);
        }
    }

    public OperationHandle? FindRunning(long id)
    {
        lock (_lock)
        {
            return _running.GetValueOrDefault(id);
        }
    }

    /// <summary>
    /// The operation's state now, then every change until it is done; the last state has its result. Null when no
    /// such operation is known.
    /// </summary>
    public ChannelReader<OperationState>? Follow(long id)
    {
        lock (_lock)
        {
            if (_running.TryGetValue(id, out var handle))
            {
                return handle.Follow();
            }

            if (_recent.FirstOrDefault(s => s.Id == id) is { } finished)
            {
                var channel = Channel.CreateUnbounded<OperationState>();
                channel.Writer.TryWrite(finished);
                channel.Writer.TryComplete();
                return channel.Reader;
            }

            return null;
        }
    }

    internal void Finished(OperationHandle handle, OperationState final)
    {
        lock (_lock)
        {
            _running.Remove(final.Id);
            AddRecent(final);
            var key = (final.Kind, final.Result!.Kind);
            _totals[key] = _totals.GetValueOrDefault(key) + 1;
        }

        OperationFinished?.Invoke();
    }

    private void AddRecent(OperationState state)
    {
        _recent.AddFirst(state);
        while (_recent.Count > RecentLimit)
        {
            _recent.RemoveLast();
        }
    }

    private void OnViewChanged(AgentView view)
    {
        OperationHandle[] running;
        lock (_lock)
        {
            running = [.. _running.Values];
        }

        foreach (var handle in running)
        {
            handle.Update(s => WithProgress(s, view));
        }
    }

    /// <summary>The transition's progress and what blocks it, for an operation waiting for that transition.</summary>
    private static OperationState WithProgress(OperationState state, AgentView view)
    {
        if (state.Phase is not (OperationPhase.Patching or OperationPhase.Unpatching) || state.Patch is null)
        {
            return state;
        }

        var transition = view.Transition;
        if (transition is null || transition.Patch != state.Patch || transition.Patching != (state.Phase == OperationPhase.Patching))
        {
            return state;
        }

        var stall = view.Stall;
        return state with
        {
            Progress = view.Snapshot.Progress ?? state.Progress,
            Blocking = stall?.FirstTask,
            BlockingTasks = stall?.BlockingTasks ?? 0,
        };
    }
}

/// <summary>
/// One running operation: its current state, its followers, and whether it may be cancelled now. The operation's
/// code moves it on (phase, patch, message) and completes it once.
/// </summary>
internal sealed class OperationHandle : IDisposable
{
    private const int FollowerBuffer = 16;
    private readonly OperationTracker _tracker;
    private readonly Func<OperationState, string?> _cancelRefusal;
    private readonly Lock _lock = new();
    private readonly List<Channel<OperationState>> _followers = [];
    private readonly TaskCompletionSource<OperationState> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _cancel = new();
    private OperationState _state;

    internal OperationHandle(OperationTracker tracker, OperationState state, Func<OperationState, string?> cancelRefusal)
    {
        _tracker = tracker;
        _state = state;
        _cancelRefusal = cancelRefusal;
    }

    public long Id => _state.Id;

    public OperationState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>Cancelled by an explicit, allowed cancel (lpctl cancel).</summary>
    public CancellationToken CancelRequested => _cancel.Token;

    /// <summary>The final state, once the operation is done.</summary>
    public Task<OperationState> Completion => _completion.Task;

    /// <summary>Replaces the state (unless it is final) and tells the followers when it changed.</summary>
    public void Update(Func<OperationState, OperationState> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_lock)
        {
            if (_state.Done)
            {
                return;
            }

            var next = change(_state);
            if (next == _state)
            {
                return;
            }

            _state = next;
            Publish(next, final: false);
        }
    }

    /// <summary>Moves to a phase with a message saying what it does now.</summary>
    public void Phase(OperationPhase phase, string message, string? patch = null) =>
        Update(s => s with { Phase = phase, Message = message, Patch = patch ?? s.Patch });

    /// <summary>Sets the result, once; later calls are ignored.</summary>
    public OperationState Complete(OperationResult result, OperationDetail? detail, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(result);
        OperationState final;
        lock (_lock)
        {
            if (_state.Done)
            {
                return _state;
            }

            final = _state with
            {
                Phase = result.FinalPhase,
                Result = result,
                Detail = detail,
                FinishedAt = now,
                Message = result.Message,
            };
            _state = final;
            Publish(final, final: true);
        }

        _tracker.Finished(this, final);
        _completion.TrySetResult(final);
        Dispose();
        return final;
    }

    /// <summary>Releases the cancel source; done by <see cref="Complete"/>, after which no cancel can arrive.</summary>
    public void Dispose() => _cancel.Dispose();

    /// <summary>Asks the operation to stop; returns why not when cancelling now is not safe (null: it will stop).</summary>
    public string? RequestCancel()
    {
        lock (_lock)
        {
            if (_state.Done)
            {
                return $"operation {_state.Id} has already ended ({OperationResult.Word(_state.Result!.Kind)})";
            }

            if (_cancelRefusal(_state) is { } refusal)
            {
                return refusal;
            }

            _cancel.Cancel();
            return null;
        }
    }

    internal ChannelReader<OperationState> Follow()
    {
        // A follower only needs the latest states: a slow one loses intermediate progress, never the final state
        // (the newest is kept). A follower that went away is dropped when the operation ends.
        var channel = Channel.CreateBounded<OperationState>(new BoundedChannelOptions(FollowerBuffer)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropOldest,
        });
        lock (_lock)
        {
            channel.Writer.TryWrite(_state);
            if (_state.Done)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _followers.Add(channel);
            }
        }

        return channel.Reader;
    }

    private void Publish(OperationState state, bool final)
    {
        foreach (var follower in _followers)
        {
            follower.Writer.TryWrite(state);
            if (final)
            {
                follower.Writer.TryComplete();
            }
        }

        if (final)
        {
            _followers.Clear();
        }
    }
}

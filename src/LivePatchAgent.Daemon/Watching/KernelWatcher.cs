using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Linux.Procfs;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Watching;

/// <summary>
/// Polls the kernel and the livepatch tree, diffs each snapshot against the last into events, and keeps the
/// <see cref="StateStore"/> current. The first snapshot is taken in <see cref="StartAsync"/>, so the daemon
/// never reports ready (or answers a request) without one. This is the only poll loop: operations that wait for
/// the kernel wait here (<see cref="WaitForAsync"/>), which polls at the transition rate while anyone waits.
/// </summary>
internal sealed class KernelWatcher(
    KernelSnapshotReader reader,
    BlockingTaskScanner scanner,
    KernelGate gate,
    StateStore store,
    EventHub hub,
    IOptions<WatchOptions> options,
    TimeProvider timeProvider,
    Api.DaemonInfo daemon,
    ILogger<KernelWatcher> logger) : BackgroundService
{
    private readonly WatchOptions _options = options.Value;
    private readonly Lock _wakeLock = new();
    private HashSet<ReadProblem> _knownProblems = [];
    private long _lastPollTicks;
    private int _waiters;
    private CancellationTokenSource _wake = new();
    private (TransitionProgress Progress, bool Patching, string Patch, long At, TimeSpan Cost)? _progress;

    /// <summary>When the last poll finished; the health check and the systemd watchdog look at it.</summary>
    public DateTimeOffset LastPollAt => new(Interlocked.Read(ref _lastPollTicks), TimeSpan.Zero);

    /// <summary>The interval after which the watcher counts as wedged.</summary>
    public TimeSpan HealthyWithin => _options.IdleInterval * 5 + TimeSpan.FromSeconds(5);

    /// <summary>When the daemon started; resolving it here pins it to the start, not to the first request.</summary>
    public DateTimeOffset DaemonStartedAt => daemon.StartedAt;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var view = PollOnce();
        if (!view.Snapshot.Kernel.LivepatchSupported)
        {
            Log.LivepatchUnsupported(logger, reader.Paths.Livepatch);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var fast = store.Current.Transition is not null || Volatile.Read(ref _waiters) > 0;
            var interval = fast ? _options.TransitionInterval : _options.IdleInterval;
            CancellationTokenSource wake;
            lock (_wakeLock)
            {
                wake = _wake;
            }

            using (var delay = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, wake.Token))
            {
                try
                {
                    await Task.Delay(interval, timeProvider, delay.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (OperationCanceledException)
                {
                    // Woken by a new waiter: poll now.
                }
            }

            try
            {
                PollOnce();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The reader maps expected sysfs failures to problems; anything that still escapes is logged and
                // the previous snapshot stays in force until the next poll.
                Log.PollFailed(logger, e);
            }
        }
    }

    /// <summary>
    /// Takes one snapshot, publishes the events it implies and stores it. Operations call it for an explicit
    /// refresh right after they change the kernel; the lock keeps two polls from diffing against the same base.
    /// </summary>
    public AgentView PollOnce()
    {
        // The gate's snapshot lock: two polls never diff against the same base, and no poll sees the kernel in the
        // middle of a finit_module (KernelGate.LoadModuleAsync).
        lock (gate.SnapshotLock)
        {
            return PollLocked();
        }
    }

    /// <summary>
    /// Waits until a view satisfies <paramref name="done"/> (checked at once, then after every poll), polling at
    /// the transition rate meanwhile. Returns that view; cancellation (the caller's deadline) throws.
    /// </summary>
    public async Task<AgentView> WaitForAsync(Func<AgentView, bool> done, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(done);
        var current = store.Current;
        if (done(current))
        {
            return current;
        }

        var satisfied = new TaskCompletionSource<AgentView>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(AgentView view)
        {
            if (done(view))
            {
                satisfied.TrySetResult(view);
            }
        }

        store.Changed += OnChanged;
        Interlocked.Increment(ref _waiters);
        try
        {
            Wake();
            // A change that landed between the first check and the subscription.
            OnChanged(store.Current);
            return await satisfied.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
            store.Changed -= OnChanged;
        }
    }

    /// <summary>Ends the current idle delay, so the loop polls now and then at the transition rate.</summary>
    private void Wake()
    {
        lock (_wakeLock)
        {
            var old = _wake;
            _wake = new CancellationTokenSource();
            old.Cancel();
            old.Dispose();
        }
    }

    public override void Dispose()
    {
        lock (_wakeLock)
        {
            _wake.Dispose();
        }

        base.Dispose();
    }

    private AgentView PollLocked()
    {
        var snapshot = WithProgress(reader.Read());
        var previous = store.HasSnapshot ? store.Current : null;
        var events = previous is null ? [] : SnapshotDiff.Compute(previous.Snapshot, snapshot);
        var view = store.Update(snapshot);
        foreach (var e in hub.Publish(events))
        {
            Log.KernelEvent(logger, e.Message);
        }

        ReportNewProblems(snapshot);
        Interlocked.Exchange(ref _lastPollTicks, timeProvider.GetUtcNow().UtcTicks);
        return view;
    }

    /// <summary>
    /// Adds the running transition's progress: the tasks not yet switched, counted from /proc at the transition
    /// poll rate and only while a transition runs. On a host with very many threads a count costs more than a poll
    /// interval should, so a count is reused until ten times its own cost has passed (at most 10 % of a CPU).
    /// </summary>
    private KernelSnapshot WithProgress(KernelSnapshot snapshot)
    {
        if (snapshot.TransitioningPatch is not { } patch)
        {
            _progress = null;
            return snapshot;
        }

        var now = timeProvider.GetTimestamp();
        if (_progress is { } last && last.Patch == patch.Name && last.Patching == patch.Enabled
            && timeProvider.GetElapsedTime(last.At, now) < last.Cost * 10)
        {
            return snapshot with { Progress = last.Progress };
        }

        var progress = scanner.CountProgress(patch.Enabled);
        _progress = (progress, patch.Enabled, patch.Name, now, timeProvider.GetElapsedTime(now));
        return snapshot with { Progress = progress };
    }

    private void ReportNewProblems(KernelSnapshot snapshot)
    {
        // A garbage value stays garbage for every poll: log it once, when it first appears.
        var current = snapshot.Problems.ToHashSet();
        foreach (var problem in current.Except(_knownProblems))
        {
            Log.ReadProblem(logger, problem.Path, problem.Message);
        }

        _knownProblems = current;
    }
}

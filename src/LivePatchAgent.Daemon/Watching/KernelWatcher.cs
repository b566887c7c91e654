using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Watching;

/// <summary>
/// Polls the kernel and the livepatch tree, diffs each snapshot against the last into events, and keeps the
/// <see cref="StateStore"/> current. The first snapshot is taken in <see cref="StartAsync"/>, so the daemon
/// never reports ready (or answers a request) without one.
/// </summary>
internal sealed class KernelWatcher(
    KernelSnapshotReader reader,
    StateStore store,
    EventHub hub,
    IOptions<WatchOptions> options,
    TimeProvider timeProvider,
    Api.DaemonInfo daemon,
    ILogger<KernelWatcher> logger) : BackgroundService
{
    private readonly WatchOptions _options = options.Value;
    private readonly Lock _pollLock = new();
    private HashSet<ReadProblem> _knownProblems = [];
    private long _lastPollTicks;

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
            var interval = store.Current.Transition is null ? _options.IdleInterval : _options.TransitionInterval;
            try
            {
                await Task.Delay(interval, timeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
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
        lock (_pollLock)
        {
            return PollLocked();
        }
    }

    private AgentView PollLocked()
    {
        var snapshot = reader.Read();
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

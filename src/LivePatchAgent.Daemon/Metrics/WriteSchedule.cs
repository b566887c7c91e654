namespace LivePatchAgent.Daemon.Metrics;

/// <summary>
/// When the metrics file is due: a coalescing window after the first change since the last write (a burst of changes
/// is one write), and a refresh interval after the last write when nothing changes (so a stale file means a stuck
/// daemon). All waiting is on the <see cref="TimeProvider"/>, so tests drive it with a fake clock.
/// </summary>
internal sealed class WriteSchedule(TimeProvider timeProvider, TimeSpan window, TimeSpan refresh)
{
    private TaskCompletionSource _changed = NewSignal();

    public TimeSpan Window => window;

    public TimeSpan Refresh => refresh;

    /// <summary>Something the metrics show may have changed; safe from any thread, and cheap.</summary>
    public void Changed() => Volatile.Read(ref _changed).TrySetResult();

    /// <summary>
    /// Returns when the next write is due: <see cref="Window"/> after a change, or <see cref="Refresh"/> from the call
    /// when none comes. True when a change woke it. Changes during the window are part of this write; a change after
    /// the return is the next one's.
    /// </summary>
    public async Task<bool> WaitAsync(CancellationToken cancellationToken)
    {
        var changed = Volatile.Read(ref _changed).Task;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timer = Task.Delay(refresh, timeProvider, stop.Token);
        var first = await Task.WhenAny(changed, timer).ConfigureAwait(false);
        // Synchronously: a change that came before the call reaches the window's timer before this returns.
        stop.Cancel();
        cancellationToken.ThrowIfCancellationRequested();
        var woken = first == changed;
        if (woken && window > TimeSpan.Zero)
        {
            await Task.Delay(window, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        Volatile.Write(ref _changed, NewSignal());
        return woken;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

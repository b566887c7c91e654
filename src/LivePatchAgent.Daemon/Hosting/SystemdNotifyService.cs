using System.Globalization;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Watching;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Hosting;

/// <summary>
/// Tells systemd how the daemon is: READY=1 once, when the host has started (the first snapshot is in, Kestrel
/// listens and the socket mode is set); STATUS= on every change of the status line; WATCHDOG=1 at half of
/// WATCHDOG_USEC while the kernel watcher keeps polling; STOPPING=1 when shutdown begins.
/// </summary>
internal sealed class SystemdNotifyService(
    SystemdNotifier notifier,
    SystemdEnvironment environment,
    StateStore store,
    KernelWatcher watcher,
    IOptions<WatchOptions> watchOptions,
    IHostApplicationLifetime lifetime,
    TimeProvider timeProvider,
    ILogger<SystemdNotifyService> logger) : IHostedService, IDisposable
{
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();
    private string? _status;
    private bool _watcherStalled;
    private bool _ready;
    private Task _watchdog = Task.CompletedTask;

    /// <summary>
    /// How old the last kernel poll may be for the watcher to count as alive: three poll intervals, at least a
    /// second. A wedged poll (a hung sysfs read) stops WATCHDOG=1, and systemd restarts the service.
    /// </summary>
    public TimeSpan WatcherFreshness { get; } =
        TimeSpan.FromTicks(Math.Max(watchOptions.Value.IdleInterval.Ticks * 3, TimeSpan.TicksPerSecond));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var problem in environment.Problems)
        {
            SystemdLog.EnvironmentProblem(logger, problem);
        }

        if (notifier.IsEnabled)
        {
            // ApplicationStarted fires after every hosted service started and every StartedAsync ran: Kestrel is
            // bound and SocketPermissions has set the mode. The watcher took the first snapshot before all that.
            lifetime.ApplicationStarted.Register(OnStarted);
            lifetime.ApplicationStopping.Register(OnStopping);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _watchdog.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutdown was cut short; the loop ends on its own.
        }
    }

    public void Dispose()
    {
        store.Changed -= OnStateChanged;
        _stopping.Dispose();
    }

    private void OnStarted()
    {
        var status = SystemdStatus.Describe(store.Current, timeProvider.GetUtcNow());
        lock (_lock)
        {
            _status = status;
            _ready = true;
        }

        notifier.Notify($"READY=1\nSTATUS={status}");
        SystemdLog.Ready(logger, status);
        store.Changed += OnStateChanged;

        if (environment.WatchdogInterval(Environment.ProcessId) is { } interval)
        {
            SystemdLog.WatchdogEnabled(logger, interval, WatcherFreshness);
            _watchdog = Task.Run(() => RunWatchdogAsync(interval, _stopping.Token));
        }
    }

    private void OnStopping()
    {
        store.Changed -= OnStateChanged;
        lock (_lock)
        {
            _ready = false;
        }

        _stopping.Cancel();
        notifier.Notify("STOPPING=1\nSTATUS=stopping");
    }

    private void OnStateChanged(AgentView view) => UpdateStatus(SystemdStatus.Describe(store.Current, timeProvider.GetUtcNow()), watcherStalled: false);

    /// <summary>Sends STATUS= when the line changed. While the watcher is stalled its line wins over the state's.</summary>
    private void UpdateStatus(string status, bool watcherStalled)
    {
        lock (_lock)
        {
            if (!_ready || (_watcherStalled && !watcherStalled) || status == _status)
            {
                return;
            }

            _status = status;
            notifier.Notify($"STATUS={status}");
        }
    }

    private async Task RunWatchdogAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, timeProvider);
        do
        {
            var age = timeProvider.GetUtcNow() - watcher.LastPollAt;
            if (age <= WatcherFreshness)
            {
                if (_watcherStalled)
                {
                    SystemdLog.WatcherRecovered(logger);
                    lock (_lock)
                    {
                        _watcherStalled = false;
                    }

                    UpdateStatus(SystemdStatus.Describe(store.Current, timeProvider.GetUtcNow()), watcherStalled: false);
                }

                notifier.Notify("WATCHDOG=1");
            }
            else
            {
                if (!_watcherStalled)
                {
                    SystemdLog.WatcherStalled(logger, age);
                    lock (_lock)
                    {
                        _watcherStalled = true;
                    }
                }

                // No WATCHDOG=1: systemd restarts the service after WatchdogSec unless the poll comes back.
                UpdateStatus(string.Create(CultureInfo.InvariantCulture, $"kernel watcher stalled: no poll for {(long)age.TotalSeconds} s; withholding the watchdog ping"), watcherStalled: true);
            }
        }
        while (await WaitAsync(timer, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

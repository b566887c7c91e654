namespace LivePatchAgent.Daemon.Hosting;

/// <summary>Log messages of the systemd integration. EventIds 120–139 (see DBusLog for the ranges); append-only.</summary>
internal static partial class SystemdLog
{
    [LoggerMessage(LogEvents.SystemdReady, LogLevel.Information, "systemd: ready ({Status})")]
    public static partial void Ready(ILogger logger, string status);

    [LoggerMessage(LogEvents.SystemdWatchdogEnabled, LogLevel.Information, "systemd: watchdog on, WATCHDOG=1 every {Interval} while the kernel watcher polled within {Freshness}")]
    public static partial void WatchdogEnabled(ILogger logger, TimeSpan interval, TimeSpan freshness);

    [LoggerMessage(LogEvents.SystemdWatcherStalled, LogLevel.Error, "systemd: the kernel watcher has not polled for {Age}; withholding WATCHDOG=1 so that systemd restarts the service")]
    public static partial void WatcherStalled(ILogger logger, TimeSpan age);

    [LoggerMessage(LogEvents.SystemdWatcherRecovered, LogLevel.Information, "systemd: the kernel watcher polls again; WATCHDOG=1 resumed")]
    public static partial void WatcherRecovered(ILogger logger);

    [LoggerMessage(LogEvents.SystemdNotifyFailed, LogLevel.Warning, "systemd: cannot notify {Socket} ({Message}): {Error}; will retry with the next message")]
    public static partial void NotifyFailed(ILogger logger, string socket, string message, string error);

    [LoggerMessage(LogEvents.SystemdNotifyRecovered, LogLevel.Information, "systemd: notifications to {Socket} work again")]
    public static partial void NotifyRecovered(ILogger logger, string socket);

    [LoggerMessage(LogEvents.SystemdNotifySocketUnusable, LogLevel.Warning, "systemd: ignoring NOTIFY_SOCKET={Socket}: {Problem}")]
    public static partial void NotifySocketUnusable(ILogger logger, string socket, string problem);

    [LoggerMessage(LogEvents.SystemdEnvironmentProblem, LogLevel.Warning, "systemd: {Problem}")]
    public static partial void EnvironmentProblem(ILogger logger, string problem);

    [LoggerMessage(LogEvents.SystemdSocketActivated, LogLevel.Information, "systemd: serving gRPC on the socket-activated descriptor {Fd} ({Path})")]
    public static partial void SocketActivated(ILogger logger, int fd, string path);
}

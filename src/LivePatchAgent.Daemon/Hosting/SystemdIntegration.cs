using LivePatchAgent.Daemon.Api;
using LivePatchAgent.Daemon.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Hosting;

/// <summary>
/// systemd integration without Microsoft.Extensions.Hosting.Systemd: that package (10.0.x) only acts when the
/// parent process is systemd, and then sends its own READY=1 at ApplicationStarted. Ours works under any parent
/// (a wrapper, systemd-run, a test), sends READY=1 exactly once, and adds STATUS=, the watchdog and socket
/// activation. Journal-formatted logs are kept: they depend on stderr being the journal, not on the parent.
/// </summary>
internal static class SystemdIntegration
{
    public static IServiceCollection AddSystemdIntegration(this IServiceCollection services, ILoggingBuilder logging)
    {
        if (IsStderrTheJournal(Environment.GetEnvironmentVariable("JOURNAL_STREAM")))
        {
            // "<6>message": journald reads the priority from the prefix and adds its own timestamps.
            logging.AddSystemdConsole(o => o.TimestampFormat = null);
        }

        services.AddSingleton(_ => SystemdEnvironment.FromProcess());
        services.AddSingleton<SystemdNotifier>();
        services.AddSingleton(sp => SystemdSocketActivation.From(
            sp.GetRequiredService<SystemdEnvironment>(),
            sp.GetRequiredService<IOptions<ApiOptions>>().Value.SocketPath,
            Environment.ProcessId));
        services.AddHostedService<SystemdNotifyService>();
        return services;
    }

    /// <summary>Listens on the socket systemd passed, or binds <paramref name="socketPath"/> when there is none.</summary>
    public static void ListenOnApiSocket(KestrelServerOptions kestrel, string socketPath)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        var activation = kestrel.ApplicationServices.GetRequiredService<SystemdSocketActivation>();
        if (activation.ListenFd is { } fd)
        {
            SystemdLog.SocketActivated(kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("livepatchd"), fd, activation.Path!);
            kestrel.ListenHandle((ulong)fd, Configure);
        }
        else
        {
            kestrel.ListenUnixSocket(socketPath, Configure);
        }

        void Configure(ListenOptions listen)
        {
            listen.Protocols = HttpProtocols.Http2;
            // Per-uid connection counting, from SO_PEERCRED, before a frame is read.
            var limits = kestrel.ApplicationServices.GetRequiredService<CallerLimits>();
            listen.Use(next => connection => limits.OnConnectionAsync(connection, next));
        }
    }

    /// <summary>
    /// True when stderr is the stream JOURNAL_STREAM names ("device:inode", systemd.exec(5)). Compared by inode,
    /// so output redirected by a wrapper does not get journal prefixes.
    /// </summary>
    internal static bool IsStderrTheJournal(string? journalStream)
    {
        var colon = journalStream?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon < 0)
        {
            return false;
        }

        // /proc/self/fd/2 links to "socket:[inode]" for the journal's stream socket.
        var target = new FileInfo("/proc/self/fd/2").LinkTarget;
        return target is not null && target == $"socket:[{journalStream![(colon + 1)..]}]";
    }
}

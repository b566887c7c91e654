using System.Collections.Immutable;
using System.Globalization;

namespace LivePatchAgent.Daemon.Hosting;

/// <summary>
/// What the service manager told the process through its environment (sd_notify(3), sd_watchdog_enabled(3),
/// sd_listen_fds(3)). Read once at start and injected, so in-process tests hand each daemon its own values
/// instead of racing on the process-wide environment.
/// </summary>
internal sealed record SystemdEnvironment
{
    public const string NotifySocketVariable = "NOTIFY_SOCKET";
    public const string WatchdogUsecVariable = "WATCHDOG_USEC";
    public const string WatchdogPidVariable = "WATCHDOG_PID";
    public const string ListenPidVariable = "LISTEN_PID";
    public const string ListenFdsVariable = "LISTEN_FDS";
    public const string ListenFdNamesVariable = "LISTEN_FDNAMES";

    /// <summary>The first inherited descriptor (SD_LISTEN_FDS_START).</summary>
    public const int ListenFdsStart = 3;

    /// <summary>Not run by a service manager: no notifications, no watchdog, no inherited sockets.</summary>
    public static SystemdEnvironment None { get; } = new();

    /// <summary>The datagram socket for sd_notify messages: a path, or "@name" for the abstract namespace.</summary>
    public string? NotifySocket { get; init; }

    public ulong? WatchdogUsec { get; init; }

    public int? WatchdogPid { get; init; }

    public int? ListenPid { get; init; }

    public int ListenFds { get; init; }

    public ImmutableArray<string> ListenFdNames { get; init; } = [];

    /// <summary>Values that were set but unusable, e.g. "WATCHDOG_USEC=abc"; logged at start.</summary>
    public ImmutableArray<string> Problems { get; init; } = [];

    /// <summary>
    /// Reads the variables of this process and removes them from its environment, like sd_listen_fds(1) and
    /// sd_notify(1): they describe this process, and no child it starts may act on them.
    /// </summary>
    public static SystemdEnvironment FromProcess()
    {
        var environment = FromVariables(Environment.GetEnvironmentVariable);
        foreach (var name in (string[])[NotifySocketVariable, WatchdogUsecVariable, WatchdogPidVariable, ListenPidVariable, ListenFdsVariable, ListenFdNamesVariable])
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        return environment;
    }

    /// <summary>Parses the variables from <paramref name="get"/>; unusable values are ignored and listed in <see cref="Problems"/>.</summary>
    public static SystemdEnvironment FromVariables(Func<string, string?> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        var problems = ImmutableArray.CreateBuilder<string>();
        var notify = get(NotifySocketVariable);
        var listenFds = Number<int>(get, ListenFdsVariable, problems);
        var names = get(ListenFdNamesVariable);
        return new SystemdEnvironment
        {
            NotifySocket = string.IsNullOrEmpty(notify) ? null : notify,
            WatchdogUsec = Number<ulong>(get, WatchdogUsecVariable, problems),
            WatchdogPid = Number<int>(get, WatchdogPidVariable, problems),
            ListenPid = Number<int>(get, ListenPidVariable, problems),
            ListenFds = listenFds is > 0 ? listenFds.Value : 0,
            ListenFdNames = string.IsNullOrEmpty(names) ? [] : [.. names.Split(':')],
            Problems = problems.ToImmutable(),
        };
    }

    /// <summary>
    /// The interval at which to send WATCHDOG=1: half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises, when the
    /// watchdog is on and meant for <paramref name="pid"/> (WATCHDOG_PID unset or equal); otherwise null.
    /// </summary>
    public TimeSpan? WatchdogInterval(int pid)
    {
        if (WatchdogUsec is not { } usec || usec == 0 || (WatchdogPid is { } target && target != pid))
        {
            return null;
        }

        var half = usec / 2;
        return half >= (ulong)(TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMicrosecond)
            ? TimeSpan.MaxValue
            : TimeSpan.FromTicks((long)half * TimeSpan.TicksPerMicrosecond);
    }

    /// <summary>How many sockets were passed to <paramref name="pid"/> (LISTEN_PID must name it); 0 when none.</summary>
    public int ActivatedFdCount(int pid) => ListenPid == pid ? ListenFds : 0;

    private static T? Number<T>(Func<string, string?> get, string name, ImmutableArray<string>.Builder problems)
        where T : struct, IParsable<T>
    {
        var text = get(name);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (T.TryParse(text, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        problems.Add($"{name}={text} is not a number; ignored");
        return null;
    }
}

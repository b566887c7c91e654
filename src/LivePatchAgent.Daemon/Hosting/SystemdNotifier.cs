using System.Net.Sockets;
using System.Text;

namespace LivePatchAgent.Daemon.Hosting;

/// <summary>
/// Sends sd_notify(3) messages ("READY=1", "STATUS=...", "WATCHDOG=1", "STOPPING=1") as datagrams to
/// NOTIFY_SOCKET, a path or an abstract "@name". It works whatever the parent process is: the service manager
/// only cares that the datagram comes from the unit's main process (NotifyAccess=main), not how the process
/// was started. Never blocks: a message that cannot be sent at once is dropped and logged.
/// </summary>
internal sealed class SystemdNotifier : IDisposable
{
    private readonly Lock _lock = new();
    private readonly ILogger<SystemdNotifier> _logger;
    private readonly UnixDomainSocketEndPoint? _endpoint;
    private readonly string? _socketName;
    private Socket? _socket;
    private bool _failing;

    public SystemdNotifier(SystemdEnvironment environment, ILogger<SystemdNotifier> logger)
    {
        ArgumentNullException.ThrowIfNull(environment);
        _logger = logger;
        _socketName = environment.NotifySocket;
        _endpoint = ParseEndpoint(environment.NotifySocket, out var problem);
        if (problem is not null)
        {
            SystemdLog.NotifySocketUnusable(logger, environment.NotifySocket!, problem);
        }
    }

    /// <summary>True when the process runs under a service manager that asked for notifications.</summary>
    public bool IsEnabled => _endpoint is not null;

    /// <summary>Sends one message of newline-separated assignments; false when not enabled or not sent.</summary>
    public bool Notify(string state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_endpoint is null)
        {
            return false;
        }

        var bytes = Encoding.UTF8.GetBytes(state);
        lock (_lock)
        {
            try
            {
                _socket ??= new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { Blocking = false };
                _socket.SendTo(bytes, SocketFlags.None, _endpoint);
                if (_failing)
                {
                    _failing = false;
                    SystemdLog.NotifyRecovered(_logger, _socketName!);
                }

                return true;
            }
            catch (SocketException e)
            {
                // The manager went away (ECONNREFUSED, ENOENT) or its queue is full (EAGAIN). Log once per
                // episode; the next message tries again.
                if (!_failing)
                {
                    _failing = true;
                    SystemdLog.NotifyFailed(_logger, _socketName!, FirstLine(state), e.SocketErrorCode.ToString());
                }

                return false;
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _socket?.Dispose();
            _socket = null;
        }
    }

    /// <summary>
    /// "/run/systemd/notify" is a path; "@name" is the abstract name "\0name" (sd_notify(3)). Other forms
    /// (vsock:, relative paths) are not for a host daemon and are reported.
    /// </summary>
    internal static UnixDomainSocketEndPoint? ParseEndpoint(string? socket, out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(socket))
        {
            return null;
        }

        try
        {
            if (socket[0] == '@' && socket.Length > 1)
            {
                return new UnixDomainSocketEndPoint("\0" + socket[1..]);
            }

            if (socket[0] == '/')
            {
                return new UnixDomainSocketEndPoint(socket);
            }
        }
        catch (ArgumentOutOfRangeException)
        {
            problem = "the address is longer than a socket address can hold";
            return null;
        }

        problem = "only an absolute path or an abstract @name is supported";
        return null;
    }

    private static string FirstLine(string state)
    {
        var newline = state.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? state : state[..newline];
    }
}

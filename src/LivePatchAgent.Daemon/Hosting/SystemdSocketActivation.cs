using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;

namespace LivePatchAgent.Daemon.Hosting;

/// <summary>
/// Socket activation (sd_listen_fds(3), livepatchd.socket): the gRPC socket inherited from systemd as a
/// descriptor instead of bound by Kestrel. The descriptor named "grpc" (FileDescriptorName=grpc) is used, or
/// the only one when there is one. Every inherited descriptor gets FD_CLOEXEC, so no child process inherits the
/// listening socket. systemd owns the socket file then: the stale-socket check and its removal are skipped.
/// </summary>
internal sealed partial class SystemdSocketActivation
{
    public const string GrpcFdName = "grpc";

    private const int SolSocket = 1;
    private const int SoType = 3;
    private const int SoAcceptConn = 30;
    private const int SoDomain = 39;
    private const int AfUnix = 1;
    private const int SockStream = 1;
    private const int FGetFd = 1;
    private const int FSetFd = 2;
    private const int FdCloexec = 1;

    private SystemdSocketActivation(int? listenFd, string? path)
    {
        ListenFd = listenFd;
        Path = path;
    }

    public static SystemdSocketActivation NotActivated { get; } = new(null, null);

    /// <summary>The inherited listening socket; null when the daemon binds the socket itself.</summary>
    public int? ListenFd { get; }

    /// <summary>The path of the inherited socket.</summary>
    public string? Path { get; }

    public bool IsActivated => ListenFd is not null;

    /// <summary>
    /// Takes over the descriptors systemd passed to <paramref name="pid"/>. Throws <see cref="DaemonStartException"/>
    /// when they cannot serve <paramref name="socketPath"/>: the operator must make the unit and the setting agree.
    /// </summary>
    public static SystemdSocketActivation From(SystemdEnvironment environment, string socketPath, int pid)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var count = environment.ActivatedFdCount(pid);
        if (count == 0)
        {
            return NotActivated;
        }

        for (var fd = SystemdEnvironment.ListenFdsStart; fd < SystemdEnvironment.ListenFdsStart + count; fd++)
        {
            SetCloseOnExec(fd);
        }

        var index = ChooseDescriptor(count, environment.ListenFdNames, out var problem);
        if (index is null)
        {
            throw new DaemonStartException(problem!);
        }

        var listenFd = SystemdEnvironment.ListenFdsStart + index.Value;
        if (Describe(listenFd) is { } wrong)
        {
            throw new DaemonStartException($"the socket systemd passed as descriptor {listenFd} {wrong}; livepatchd.socket needs ListenStream=<path>");
        }

        var path = LocalPath(listenFd);
        if (!string.Equals(path, socketPath, StringComparison.Ordinal))
        {
            throw new DaemonStartException(
                $"systemd passed the socket {path ?? "(unnamed)"}, but Api:SocketPath is {socketPath}; make ListenStream= in livepatchd.socket and Api:SocketPath the same path");
        }

        return new SystemdSocketActivation(listenFd, path);
    }

    /// <summary>Which of <paramref name="count"/> descriptors serves gRPC (0-based), or null with the reason.</summary>
    internal static int? ChooseDescriptor(int count, ImmutableArray<string> names, out string? problem)
    {
        problem = null;
        var named = names.IndexOf(GrpcFdName);
        if (named >= 0 && named < count)
        {
            return named;
        }

        if (count == 1)
        {
            return 0;
        }

        problem = $"systemd passed {count} sockets ({(names.IsEmpty ? "unnamed" : string.Join(", ", names))}) and none is named \"{GrpcFdName}\"; set FileDescriptorName={GrpcFdName} in livepatchd.socket";
        return null;
    }

    private static void SetCloseOnExec(int fd)
    {
        var flags = Fcntl(fd, FGetFd, 0);
        if (flags < 0 || Fcntl(fd, FSetFd, flags | FdCloexec) < 0)
        {
            throw new DaemonStartException($"cannot set FD_CLOEXEC on the inherited descriptor {fd}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>What is wrong with the descriptor for Kestrel, or null when it is a listening Unix stream socket.</summary>
    private static unsafe string? Describe(int fd)
    {
        int value;
        uint length = sizeof(int);
        if (GetSockOpt(fd, SolSocket, SoDomain, &value, &length) != 0)
        {
            return $"is not a socket ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())})";
        }

        if (value != AfUnix)
        {
            return $"is not a Unix socket (address family {value})";
        }

        length = sizeof(int);
        if (GetSockOpt(fd, SolSocket, SoType, &value, &length) != 0 || value != SockStream)
        {
            return "is not a stream socket";
        }

        length = sizeof(int);
        if (GetSockOpt(fd, SolSocket, SoAcceptConn, &value, &length) != 0 || value == 0)
        {
            return "is not listening (Accept=yes is not supported)";
        }

        return null;
    }

    /// <summary>The path a Unix socket is bound to (sockaddr_un.sun_path); null when unnamed or abstract.</summary>
    private static unsafe string? LocalPath(int fd)
    {
        // struct sockaddr_un: sa_family_t (2 bytes), then sun_path[108].
        var address = stackalloc byte[110];
        uint length = 110;
        if (GetSockName(fd, address, &length) != 0 || length <= 2 || address[2] == 0)
        {
            return null;
        }

        var path = new ReadOnlySpan<byte>(address + 2, (int)Math.Min(length, 110) - 2);
        var end = path.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? path : path[..end]);
    }

    // fcntl is variadic; with integer arguments only, the x86-64 and aarch64 Linux calling conventions pass them
    // exactly as for a fixed signature.
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static unsafe partial int GetSockOpt(int fd, int level, int name, int* value, uint* length);

    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)]
    private static unsafe partial int GetSockName(int fd, byte* address, uint* length);
}

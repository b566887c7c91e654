using System.Buffers.Binary;
using System.Globalization;
using Grpc.Core;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Linux;
using LivePatchAgent.Linux.Native;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.AspNetCore.Connections.Features;

namespace LivePatchAgent.Daemon.Api;

/// <summary>Who is on the other end of a gRPC call on the Unix socket, from SO_PEERCRED.</summary>
internal static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeercred = 17;

    /// <summary>Reads pid, uid and gid of the connected process; null when the transport is not a Unix socket.</summary>
    public static (int Pid, int Uid, int Gid)? Read(ServerCallContext context) => Read(context.GetHttpContext());

    /// <summary>Reads pid, uid and gid of the connected process; null when the transport is not a Unix socket.</summary>
    public static (int Pid, int Uid, int Gid)? Read(HttpContext http) =>
        Socket(http) is { } socket ? Read(socket) : null;

    /// <summary>Reads pid, uid and gid of the process connected to <paramref name="socket"/>; null when not a Unix socket.</summary>
    public static (int Pid, int Uid, int Gid)? Read(System.Net.Sockets.Socket socket)
    {
        if (socket.AddressFamily != System.Net.Sockets.AddressFamily.Unix)
        {
            return null;
        }

        Span<byte> ucred = stackalloc byte[12];
        return socket.GetRawSocketOption(SolSocket, SoPeercred, ucred) == 12
            ? (BinaryPrimitives.ReadInt32LittleEndian(ucred), BinaryPrimitives.ReadInt32LittleEndian(ucred[4..]), BinaryPrimitives.ReadInt32LittleEndian(ucred[8..]))
            : null;
    }

    /// <summary>
    /// The caller's supplementary groups as the kernel recorded them at connect(2) (SO_PEERGROUPS). On a kernel
    /// without SO_PEERGROUPS (before 4.13), the "Groups:" line of /proc/&lt;pid&gt;/status instead.
    /// </summary>
    public static IReadOnlySet<uint> SupplementaryGroups(HttpContext http, int pid)
    {
        if (Socket(http) is { AddressFamily: System.Net.Sockets.AddressFamily.Unix } socket && PeerGroups.Read(socket.SafeHandle) is { } groups)
        {
            return groups.ToHashSet();
        }

        var status = OwnSystem.ProcessFile(pid, "status");
        if (SysfsFile.TryRead(status, out var text, out _) != SysfsFile.Status.Ok)
        {
            return new HashSet<uint>();
        }

        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("Groups:", StringComparison.Ordinal));
        return line is null
            ? new HashSet<uint>()
            : line["Groups:".Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
                .Select(g => uint.TryParse(g, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : (uint?)null)
                .OfType<uint>()
                .ToHashSet();
    }

    /// <summary>The caller for the journal: "uid 0 pid 1234 (lpctl)".</summary>
    public static Caller Caller(ServerCallContext context) => Caller(context.GetHttpContext());

    /// <summary>The caller for the journal and the log: "lpctl[1234] uid 0".</summary>
    public static Caller Caller(HttpContext http)
    {
        if (Read(http) is not { } peer)
        {
            return new Caller(null, null, "unknown peer");
        }

        var comm = SysfsFile.TryRead(OwnSystem.ProcessFile(peer.Pid, "comm"), out var value, out _) == SysfsFile.Status.Ok
            ? value.Trim()
            : null;
        return new Caller(peer.Pid, peer.Uid, $"{comm ?? "?"}[{peer.Pid}] uid {peer.Uid}") { Comm = comm };
    }

    private static System.Net.Sockets.Socket? Socket(HttpContext http) =>
        http.Features.Get<IConnectionSocketFeature>()?.Socket;
}

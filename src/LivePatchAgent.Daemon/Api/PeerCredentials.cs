using System.Buffers.Binary;
using Grpc.Core;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Linux;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.AspNetCore.Connections.Features;

namespace LivePatchAgent.Daemon.Api;

/// <summary>Who is on the other end of a gRPC call on the Unix socket, from SO_PEERCRED.</summary>
internal static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeercred = 17;

    /// <summary>Reads pid, uid and gid of the connected process; null when the transport is not a Unix socket.</summary>
    public static (int Pid, int Uid, int Gid)? Read(ServerCallContext context)
    {
        var socket = context.GetHttpContext().Features.Get<IConnectionSocketFeature>()?.Socket;
        return socket is null ? null : Read(socket);
    }

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

    /// <summary>The caller for the journal: "uid 0 pid 1234 (lpctl)".</summary>
    public static Caller Caller(ServerCallContext context)
    {
        if (Read(context) is not { } peer)
        {
            return new Caller(null, null, "unknown peer");
        }

        var comm = SysfsFile.TryRead(OwnSystem.ProcessFile(peer.Pid, "comm"), out var value, out _) == SysfsFile.Status.Ok
            ? value.Trim()
            : null;
        return new Caller(peer.Pid, peer.Uid, $"{comm ?? "?"}[{peer.Pid}] uid {peer.Uid}") { Comm = comm };
    }
}

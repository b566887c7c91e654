using System.Runtime.InteropServices;

namespace LivePatchAgent.Linux.Native;

/// <summary>
/// The supplementary groups of the process at the other end of a connected Unix socket, from SO_PEERGROUPS
/// (Linux 4.13+). The kernel records them at connect(2), with the pid, uid and gid of SO_PEERCRED, so the
/// answer cannot belong to another process that reused the pid since.
/// </summary>
public static partial class PeerGroups
{
    private const int SolSocket = 1;
    private const int SoPeergroups = 59;
    private const int Erange = 34;
    private const int Enoprotoopt = 92;

    /// <summary>The peer's supplementary gids; null when the kernel has no SO_PEERGROUPS (before 4.13).</summary>
    public static unsafe uint[]? Read(SafeHandle socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            var fd = (int)socket.DangerousGetHandle();
            // Most callers have a handful of groups; the kernel says how much room it needs when 64 are too few.
            var groups = new uint[64];
            while (true)
            {
                var length = (uint)(groups.Length * sizeof(uint));
                int rc;
                fixed (uint* buffer = groups)
                {
                    rc = GetSocketOption(fd, SolSocket, SoPeergroups, buffer, &length);
                }

                if (rc == 0)
                {
                    return groups[..(int)(length / sizeof(uint))];
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno == Erange && length > groups.Length * sizeof(uint))
                {
                    groups = new uint[length / sizeof(uint)];
                    continue;
                }

                return errno == Enoprotoopt
                    ? null
                    : throw new IOException($"cannot read the peer's groups (SO_PEERGROUPS): {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static unsafe partial int GetSocketOption(int fd, int level, int name, void* value, uint* length);
}

using System.Runtime.InteropServices;

namespace LivePatchAgent.Linux.Native;

/// <summary>The type of a directory entry, which .NET does not expose (it has no notion of sockets or FIFOs).</summary>
public enum FileKind
{
    Missing,
    Regular,
    Directory,
    Symlink,
    Socket,
    Other,
}

/// <summary>
/// lstat-like file type lookup through statx(2). statx is used rather than lstat because its buffer layout is
/// the same on every architecture, while struct stat differs between x86_64 and aarch64.
/// </summary>
public static partial class FileKinds
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const int ModeOffset = 28;
    private const int Enoent = 2;
    private const int Enotdir = 20;

    public static unsafe FileKind Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Enoent or Enotdir)
            {
                return FileKind.Missing;
            }

            throw new IOException($"cannot stat {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        var mode = *(ushort*)(buffer + ModeOffset);
        return (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.Symlink,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}

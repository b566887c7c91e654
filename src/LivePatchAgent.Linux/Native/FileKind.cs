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

/// <summary>One file's identity: its inode number and birth time (seconds and nanoseconds; 0 where not recorded).</summary>
public readonly record struct FileIdentity(ulong Inode, long BirthSeconds, uint BirthNanoseconds);

/// <summary>
/// lstat-like file type lookup through statx(2). statx is used rather than lstat because its buffer layout is
/// the same on every architecture, while struct stat differs between x86_64 and aarch64.
/// </summary>
public static partial class FileKinds
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxIno = 0x100;
    private const uint StatxBtime = 0x800;
    private const int ModeOffset = 28;
    private const int InoOffset = 32;
    private const int BtimeOffset = 80;
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

    /// <summary>
    /// Which file <paramref name="path"/> is (inode number and, where the filesystem records it, birth time; without
    /// following a final symlink), or null when it does not exist. A directory removed and created again under the
    /// same name is another file: sysfs gives every new kobject a new inode number (and records no birth time), and on
    /// a disk filesystem, which may reuse an inode number at once, the birth time tells the two apart.
    /// </summary>
    public static unsafe FileIdentity? IdentityOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxIno | StatxBtime, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is Enoent or Enotdir
                ? null
                : throw new IOException($"cannot stat {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        var hasBirth = (*(uint*)buffer & StatxBtime) != 0;
        return new FileIdentity(*(ulong*)(buffer + InoOffset), hasBirth ? *(long*)(buffer + BtimeOffset) : 0, hasBirth ? *(uint*)(buffer + BtimeOffset + 8) : 0);
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}

using System.Runtime.InteropServices;
using LivePatchAgent.Linux.Native;

namespace LivePatchAgent.Linux.Kmsg;

/// <summary>
/// Reads the kernel log: /dev/kmsg, or a file or FIFO in its format (tests, a container's copy). Opened at the end,
/// so only records written after livepatchd started are read. Reads never block for long: each waits at most the
/// given timeout (poll(2)), so the reader stops promptly. /dev/kmsg answers EPIPE when the records at the reader's
/// position were overwritten; that is reported as <see cref="KernelLogRead.Overwritten"/> and reading goes on from
/// the oldest record still there.
/// </summary>
public sealed partial class KernelLogSource : IDisposable
{
    private const int SeekEnd = 2;
    private const short PollIn = 0x1;
    private const int EIntr = 4;
    private const int EAgain = 11;
    private const int EPipe = 32;

    private int _fd;

    private KernelLogSource(int fd, string path)
    {
        _fd = fd;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Opens <paramref name="path"/> and moves to its end (a FIFO has no end to move to). Throws IOException naming the path and errno.</summary>
    public static KernelLogSource OpenAtEnd(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fd = Syscalls.Open(path, Syscalls.ORdonly | Syscalls.ONonblock | Syscalls.OCloexec);
        if (fd < 0)
        {
            throw Error("cannot open", path);
        }

        // /dev/kmsg: SEEK_END is "after the last record". A FIFO answers ESPIPE, and only carries new records anyway.
        _ = Lseek(fd, 0, SeekEnd);
        return new KernelLogSource(fd, path);
    }

    /// <summary>Reads what is there, waiting at most <paramref name="timeoutMs"/> for it.</summary>
    public KernelLogRead Read(Span<byte> buffer, int timeoutMs, out int count)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        count = 0;
        var pfd = new PollFd { Fd = _fd, Events = PollIn };
        var ready = Poll(ref pfd, 1, timeoutMs);
        if (ready < 0)
        {
            return Marshal.GetLastPInvokeError() == EIntr ? KernelLogRead.Idle : throw Error("cannot poll", Path);
        }

        if (ready == 0)
        {
            return KernelLogRead.Idle;
        }

        long n;
        unsafe
        {
            fixed (byte* p = buffer)
            {
                n = ReadFd(_fd, p, (nuint)buffer.Length);
            }
        }

        if (n > 0)
        {
            count = (int)n;
            return KernelLogRead.Data;
        }

        if (n == 0)
        {
            // The end of a file, or a FIFO with no writer: nothing to read now.
            return KernelLogRead.End;
        }

        return Marshal.GetLastPInvokeError() switch
        {
            EPipe => KernelLogRead.Overwritten,
            EAgain or EIntr => KernelLogRead.Idle,
            _ => throw Error("cannot read", Path),
        };
    }

    public void Dispose()
    {
        if (_fd >= 0)
        {
            _ = Syscalls.Close(_fd);
            _fd = -1;
        }
    }

    private static IOException Error(string what, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{what} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Lseek(int fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeout);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadFd(int fd, byte* buffer, nuint count);
}

/// <summary>What one read found.</summary>
public enum KernelLogRead
{
    /// <summary>Bytes were read.</summary>
    Data,

    /// <summary>Nothing arrived within the timeout.</summary>
    Idle,

    /// <summary>The end of a file, or a FIFO with no writer: wait and read again.</summary>
    End,

    /// <summary>EPIPE: records at the reader's position were overwritten before they were read.</summary>
    Overwritten,
}

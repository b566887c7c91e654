using System.Runtime.InteropServices;

namespace LivePatchAgent.Linux.Native;

/// <summary>
/// Reads a small file (a sysfs or procfs attribute) with open, pread and close: three system calls. .NET's
/// <c>File.OpenHandle</c> and <c>RandomAccess.Read</c> cost seven for the same read (an fstat, an advisory
/// <c>flock</c> taken and released, and a second read to see the end), and the watcher reads a few such files per
/// patch on every poll; docs/benchmarks.md has the measurement. Anything not seekable fails with ESPIPE. The open
/// blocks as a read of a hung kernel attribute does (a FIFO without a writer is how the tests make one): the
/// systemd watchdog, not this read, covers a hang.
/// </summary>
public static class AttributeFile
{
    private const int Eintr = 4;

    /// <summary>The outcome of a read: <see cref="Errno"/> is 0 on success, else the errno of the failed call.</summary>
    public readonly record struct Result(int Length, int Errno);

    /// <summary>
    /// Reads up to <paramref name="buffer"/>'s length from the start of <paramref name="path"/>. A read shorter than
    /// asked is the whole file: sysfs and procfs attributes answer in one read, and a regular file reads short only
    /// at its end.
    /// </summary>
    public static Result Read(string path, Span<byte> buffer)
    {
        var fd = Syscalls.Open(path, Syscalls.ORdonly | Syscalls.OCloexec);
        if (fd < 0)
        {
            return new Result(0, Marshal.GetLastPInvokeError());
        }

        try
        {
            var total = 0;
            while (total < buffer.Length)
            {
                var n = Syscalls.PRead(fd, ref MemoryMarshal.GetReference(buffer[total..]), (nint)(buffer.Length - total), total);
                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Eintr)
                    {
                        continue;
                    }

                    return new Result(0, errno);
                }

                total += (int)n;
                if (n == 0 || total < buffer.Length)
                {
                    break;
                }
            }

            return new Result(total, 0);
        }
        finally
        {
            _ = Syscalls.Close(fd);
        }
    }
}

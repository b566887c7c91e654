using System.Runtime.InteropServices;

namespace LivePatchAgent.Linux.Native;

/// <summary>
/// Crash-safe file replacement: write a temporary file, fsync it, rename it over the target, fsync the
/// directory. After a crash the target holds the old or the new content, never a mix, and the rename itself is
/// durable. .NET cannot open a directory to fsync it, hence the P/Invoke.
/// </summary>
public static partial class DurableFile
{
    private const int ORdonly = 0;
    private const int ODirectory = 0x10000;
    private const int OCloexec = 0x80000;

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="content"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }

        SyncDirectory(dir);
    }

    /// <summary>fsync(2) on a directory, so a rename or unlink in it survives a crash.</summary>
    public static void SyncDirectory(string dir)
    {
        var fd = Open(dir, ORdonly | ODirectory | OCloexec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open {dir} to sync it: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"cannot sync {dir}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}

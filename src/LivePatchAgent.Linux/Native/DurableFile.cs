using System.Runtime.InteropServices;

namespace LivePatchAgent.Linux.Native;

/// <summary>
/// Crash-safe file replacement: write a temporary file, fsync it, rename it over the target, fsync the
/// directory. After a crash the target holds the old or the new content, never a mix, and the rename itself is
/// durable. .NET cannot open a directory to fsync it, hence the P/Invoke.
/// </summary>
public static partial class DurableFile
{

    /// <summary>The name prefix and suffix of the temporary files <see cref="Write(string, ReadOnlySpan{byte})"/> leaves after a crash.</summary>
    public const string TempPrefix = ".";

    public const string TempSuffix = ".tmp";

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="content"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content) => Write(path, content, beforeStep: null);

    /// <summary>
    /// Atomically replaces <paramref name="path"/> with <paramref name="content"/>, calling
    /// <paramref name="beforeStep"/> before each step; tests throw from it to inject a failure at that step.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> content, Action<DurableFileStep, string>? beforeStep) =>
        Write(path, content, mode: null, beforeStep);

    /// <summary>
    /// Atomically replaces <paramref name="path"/> with <paramref name="content"/> whose permissions are
    /// <paramref name="mode"/> whatever the umask (a file other users' programs read), set before the rename.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode? mode, Action<DurableFileStep, string>? beforeStep = null)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $"{TempPrefix}{Path.GetFileName(path)}.{Environment.ProcessId}{TempSuffix}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                beforeStep?.Invoke(DurableFileStep.WriteTemp, path);
                stream.Write(content);
                beforeStep?.Invoke(DurableFileStep.SyncTemp, path);
                stream.Flush(flushToDisk: true);
            }

            if (mode is { } permissions)
            {
                File.SetUnixFileMode(temp, permissions);
            }

            beforeStep?.Invoke(DurableFileStep.Rename, path);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }

        beforeStep?.Invoke(DurableFileStep.SyncDirectory, path);
        SyncDirectory(dir);
    }

    /// <summary>Removes <paramref name="path"/> (if it exists) and makes the removal durable.</summary>
    public static void Delete(string path, Action<DurableFileStep, string>? beforeStep = null)
    {
        beforeStep?.Invoke(DurableFileStep.Unlink, path);
        File.Delete(path);
        beforeStep?.Invoke(DurableFileStep.SyncDirectory, path);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>fsync(2) on a directory, so a rename or unlink in it survives a crash.</summary>
    public static void SyncDirectory(string dir)
    {
        var fd = Syscalls.Open(dir, Syscalls.ORdonly | Syscalls.ODirectory | Syscalls.OCloexec);
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
            _ = Syscalls.Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);
}

/// <summary>The steps of a durable write or removal, in order.</summary>
public enum DurableFileStep
{
    /// <summary>Writing the content to the temporary file.</summary>
    WriteTemp,

    /// <summary>fsync of the temporary file.</summary>
    SyncTemp,

    /// <summary>rename(2) of the temporary file over the target.</summary>
    Rename,

    /// <summary>fsync of the directory.</summary>
    SyncDirectory,

    /// <summary>unlink(2) of the target.</summary>
    Unlink,
}

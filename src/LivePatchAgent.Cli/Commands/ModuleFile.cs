namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// Reads a module file for upload. lpctl reads it as the user who runs it, and the daemon only ever sees the
/// bytes: a root daemon never opens a path a client chose. Every problem is reported before the daemon is
/// contacted.
/// </summary>
internal static class ModuleFile
{
    /// <summary>
    /// The largest file lpctl uploads: the most the daemon can be configured to accept (Limits:MaxModuleSize).
    /// Larger files are refused here rather than streamed to a daemon that will refuse them.
    /// </summary>
    public const long MaxSize = 1L << 30;

    /// <summary>Reads the whole file; throws <see cref="CommandFailedException"/> saying why it cannot.</summary>
    public static byte[] Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new CommandFailedException("cannot read the module: the file name is empty");
        }

        if (Directory.Exists(path))
        {
            throw Unreadable(path, "is a directory", "pass the .ko file itself");
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            return stream.CanSeek ? ReadFile(path, stream) : ReadStream(path, stream);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw Unreadable(path, "no such file");
        }
        catch (UnauthorizedAccessException)
        {
            throw Unreadable(path, "permission denied",
                "lpctl reads the file as the user running it; make it readable to that user");
        }
        catch (PathTooLongException)
        {
            throw Unreadable(path, "the path is too long");
        }
        catch (IOException e)
        {
            throw Unreadable(path, Lpctl.AsLpctlMessage(e.Message));
        }
    }

    private static byte[] ReadFile(string path, FileStream stream)
    {
        var length = stream.Length;
        CheckSize(path, length);
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    // A pipe or a character device (`lpctl verify /dev/stdin`): no length to check first, so read at most one byte
    // beyond the limit to know it was exceeded.
    private static byte[] ReadStream(string path, FileStream stream)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            buffer.Write(chunk, 0, read);
            CheckSize(path, buffer.Length);
        }

        CheckSize(path, buffer.Length);
        return buffer.ToArray();
    }

    private static void CheckSize(string path, long length)
    {
        if (length > MaxSize)
        {
            throw Unreadable(path, "the file is larger than 1 GiB, which is not a kernel module",
                "check that FILE is the .ko file");
        }

        if (length == 0)
        {
            throw new CommandFailedException(
                $"{path} is empty, not a kernel module", hint: "check that FILE is the .ko file that was built");
        }
    }

    private static CommandFailedException Unreadable(string path, string why, string? hint = null) =>
        new($"cannot read {path}: {why}", hint: hint);
}

using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LivePatchAgent.Linux.Sysfs;

/// <summary>
/// Reads the small text attributes of sysfs and procfs. The livepatch tree vanishes under a reader (a finished
/// disable, an atomic replace), so "gone" (ENOENT, ENODEV) is an ordinary outcome here, not an exception.
/// </summary>
public static class SysfsFile
{
    private const int Enodev = 19;

    /// <summary>The outcome of one read.</summary>
    public enum Status
    {
        Ok,
        Missing,
        Unreadable,
    }

    /// <summary>Reads a file and trims the trailing newline. Never throws for a missing or unreadable file.</summary>
    public static Status TryRead(string path, out string value, out string? error)
    {
        value = string.Empty;
        error = null;
        try
        {
            // Attributes are at most a page; a single read into a stack buffer avoids the FileStream machinery
            // on the poll path.
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            Span<byte> buffer = stackalloc byte[4096];
            var total = 0;
            while (total < buffer.Length)
            {
                var n = RandomAccess.Read(handle, buffer[total..], total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            value = Encoding.UTF8.GetString(buffer[..total]).TrimEnd('\n', '\0');
            return Status.Ok;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Status.Missing;
        }
        catch (IOException e) when (e.HResult == Enodev)
        {
            return Status.Missing;
        }
        catch (UnauthorizedAccessException e)
        {
            error = e.Message;
            return Status.Unreadable;
        }
        catch (IOException e)
        {
            error = e.Message;
            return Status.Unreadable;
        }
        catch (NotSupportedException e)
        {
            // Not a seekable file (a FIFO or socket planted under the host root): unreadable, not fatal.
            error = e.Message;
            return Status.Unreadable;
        }
    }

    /// <summary>Reads the whole of a binary file, or null when it is missing or unreadable.</summary>
    public static byte[]? TryReadBytes(string path, int maxBytes = 1 << 20)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            var buffer = new byte[maxBytes];
            var total = 0;
            int n;
            while (total < buffer.Length && (n = stream.Read(buffer, total, buffer.Length - total)) > 0)
            {
                total += n;
            }

            return buffer[..total];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Parses a kernel boolean: "0"/"1" from show handlers, "Y"/"N" from bool module parameters.</summary>
    public static bool? ParseBool(string value) => value.Trim() switch
    {
        "1" or "Y" or "y" => true,
        "0" or "N" or "n" => false,
        _ => null,
    };

    public static int? ParseInt(string value) =>
        int.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;

    public static ulong? ParseULong(string value) =>
        ulong.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
}

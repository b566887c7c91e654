using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using LivePatchAgent.Linux.Native;

namespace LivePatchAgent.Linux.Sysfs;

/// <summary>
/// Reads the small text attributes of sysfs and procfs. The livepatch tree vanishes under a reader (a finished
/// disable, an atomic replace), so "gone" (ENOENT, ENODEV) is an ordinary outcome here, not an exception.
/// </summary>
public static class SysfsFile
{
    private const int Enoent = 2;
    private const int Enodev = 19;
    private const int Enotdir = 20;
    private const int Espipe = 29;

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

        // Attributes are at most a page; one read into a stack buffer, with three system calls (AttributeFile).
        Span<byte> buffer = stackalloc byte[4096];
        var result = AttributeFile.Read(path, buffer);
        switch (result.Errno)
        {
            case 0:
                value = Encoding.UTF8.GetString(buffer[..result.Length]).TrimEnd('\n', '\0');
                return Status.Ok;
            case Enoent or Enotdir or Enodev:
                // Gone (a patch directory removed between the listing and the read), or a sysfs attribute whose
                // object is going away.
                return Status.Missing;
            case Espipe:
                // Not a seekable file (a FIFO or socket planted under the host root): unreadable, not fatal.
                error = "not a regular file";
                return Status.Unreadable;
            default:
                error = Marshal.GetPInvokeErrorMessage(result.Errno);
                return Status.Unreadable;
        }
    }

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

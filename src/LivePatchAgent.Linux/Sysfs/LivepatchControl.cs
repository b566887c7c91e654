using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LivePatchAgent.Linux.Sysfs;

/// <summary>Writes the livepatch sysfs attributes: one write(2) at offset 0, the errno is the answer.</summary>
public sealed class LivepatchControl(HostPaths paths)
{
    private const int Enoent = 2;
    private const int Enodev = 19;

    /// <summary>The outcome of a write.</summary>
    public enum Outcome
    {
        Done,
        /// <summary>The patch directory is gone (ENOENT/ENODEV): it finished or was replaced.</summary>
        Gone,
        /// <summary>Another patch is in transition (EBUSY).</summary>
        Busy,
        /// <summary>The value is not allowed now (EINVAL), e.g. the patch is already in that state.</summary>
        Invalid,
        Denied,
        Failed,
    }

    public Outcome SetEnabled(string patch, bool enabled, out string? error) =>
        Write(Path.Combine(paths.PatchDir(patch), "enabled"), enabled ? "1" : "0", out error);

    public Outcome Force(string patch, out string? error) =>
        Write(Path.Combine(paths.PatchDir(patch), "force"), "1", out error);

    /// <summary>Whether the kernel has the per-patch <c>signal</c> attribute (4.16 to 5.0 only).</summary>
    public bool HasSignalAttribute(string patch) => File.Exists(Path.Combine(paths.PatchDir(patch), "signal"));

    /// <summary>Writes <c>signal</c>: the kernel fake-signals the blocked tasks (4.16 to 5.0).</summary>
    public Outcome Signal(string patch, out string? error) =>
        Write(Path.Combine(paths.PatchDir(patch), "signal"), "1", out error);

    private static Outcome Write(string path, string value, out string? error)
    {
        error = null;
        try
        {
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            RandomAccess.Write(handle, Encoding.ASCII.GetBytes(value), 0);
            return Outcome.Done;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Outcome.Gone;
        }
        catch (UnauthorizedAccessException e)
        {
            error = e.Message;
            return Outcome.Denied;
        }
        catch (IOException e)
        {
            error = e.Message;
            return e.HResult switch
            {
                Enoent or Enodev => Outcome.Gone,
                16 => Outcome.Busy,
                22 => Outcome.Invalid,
                1 or 13 => Outcome.Denied,
                _ => Outcome.Failed,
            };
        }
    }
}

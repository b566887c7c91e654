namespace LivePatchAgent.Linux;

/// <summary>
/// Paths of the daemon's own system, as opposed to the kernel paths of <see cref="HostPaths"/>: a peer on the
/// Unix socket lives in the daemon's pid namespace (SO_PEERCRED translates its pid there), whatever host root the
/// kernel state is read from. (The admin group is resolved through the daemon's own NSS, see GroupDatabase.)
/// </summary>
public static class OwnSystem
{
    public const string Proc = "/proc";

    public static string ProcessFile(int pid, string file) =>
        Path.Combine(Proc, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), file);
}

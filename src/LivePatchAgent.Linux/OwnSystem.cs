namespace LivePatchAgent.Linux;

/// <summary>
/// Paths of the daemon's own system, as opposed to the kernel paths of <see cref="HostPaths"/>: a peer on the
/// Unix socket lives in the daemon's pid namespace (SO_PEERCRED translates its pid there), and the admin group is
/// looked up in the daemon's own group database, whatever host root the kernel state is read from.
/// </summary>
public static class OwnSystem
{
    public const string Proc = "/proc";

    public const string GroupFile = "/etc/group";

    public static string ProcessFile(int pid, string file) =>
        Path.Combine(Proc, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), file);
}

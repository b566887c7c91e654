namespace LivePatchAgent.Linux;

/// <summary>
/// Every kernel path the agent touches, derived from one root directory (default "/"). Tests point the root at
/// a temporary tree; a container deployment points it at the host's mount. No other code spells a literal
/// /sys or /proc path.
/// </summary>
public sealed class HostPaths
{
    public HostPaths(string root = "/")
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    public string Livepatch => Under("sys/kernel/livepatch");

    public string Proc => Under("proc");

    public string SysModule => Under("sys/module");

    public string KernelNotes => Under("sys/kernel/notes");

    public string Lockdown => Under("sys/kernel/security/lockdown");

    public string SigEnforce => Under("sys/module/module/parameters/sig_enforce");

    public string OsRelease => Under("proc/sys/kernel/osrelease");

    public string KernelVersion => Under("proc/sys/kernel/version");

    public string BootId => Under("proc/sys/kernel/random/boot_id");

    public string Tainted => Under("proc/sys/kernel/tainted");

    public string ModulesDisabled => Under("proc/sys/kernel/modules_disabled");

    public string FtraceEnabled => Under("proc/sys/kernel/ftrace_enabled");

    public string KernelCommandLine => Under("proc/cmdline");

    /// <summary>The distribution's identity: /etc/os-release, else /usr/lib/os-release (os-release(5)).</summary>
    public string EtcOsRelease => Under("etc/os-release");

    public string UsrLibOsRelease => Under("usr/lib/os-release");

    /// <summary>Ubuntu's full kernel package version ("Ubuntu 5.15.0-119.129-generic 5.15.160"); absent elsewhere.</summary>
    public string VersionSignature => Under("proc/version_signature");

    /// <summary>The kernel log as a stream of structured records (Documentation/ABI/testing/dev-kmsg).</summary>
    public string Kmsg => Under("dev/kmsg");

    /// <summary>The loaded modules, newest first: the order live patches were registered in.</summary>
    public string ProcModules => Under("proc/modules");

    /// <summary>The running kernel's modules, /lib/modules/&lt;release&gt;.</summary>
    public string KernelModulesDir(string release) => Under(Path.Combine("lib/modules", release));

    public string PatchDir(string patch) => Path.Combine(Livepatch, patch);

    public string ModuleDir(string module) => Path.Combine(SysModule, module);

    private string Under(string relative) => Path.Combine(Root, relative);
}

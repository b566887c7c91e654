using System.CommandLine;
using System.Runtime.InteropServices;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl uname [-asnrvmpi] [--operating-system]</c>: uname(1) with the kernel's package version replaced by the effective kernel level,
/// the highest package version whose fixes the loaded live patches carry, as <c>kcare-uname</c> does, for
/// vulnerability scanners that read uname. The version is replaced where the running one appears: Debian names it
/// in the kernel version (<c>-v</c>: "Debian 6.1.192-2"), Enterprise Linux in the release (<c>-r</c>). Without live
/// patches that carry a level, or without a posture, the output is the real uname's.
/// </summary>
internal sealed class UnameCommand : AgentCommand
{
    private readonly Option<bool> _all = new("--all", "-a") { Description = "Print all, in this order, omitting -p and -i if unknown" };
    private readonly Option<bool> _kernelName = new("--kernel-name", "-s") { Description = "Print the kernel name" };
    private readonly Option<bool> _nodeName = new("--nodename", "-n") { Description = "Print the network node hostname" };
    private readonly Option<bool> _release = new("--kernel-release", "-r") { Description = "Print the kernel release (effective level on Enterprise Linux)" };
    private readonly Option<bool> _version = new("--kernel-version", "-v") { Description = "Print the kernel version (effective level on Debian)" };
    private readonly Option<bool> _machine = new("--machine", "-m") { Description = "Print the machine hardware name" };
    private readonly Option<bool> _processor = new("--processor", "-p") { Description = "Print the processor type (unknown)" };
    private readonly Option<bool> _platform = new("--hardware-platform", "-i") { Description = "Print the hardware platform (unknown)" };
    // No -o: it is lpctl's global --output.
    private readonly Option<bool> _os = new("--operating-system") { Description = "Print the operating system" };

    protected override Command CreateCommand() => new(
        "uname",
        "Print uname's fields with the kernel package version replaced by the effective level the loaded live "
        + "patches bring, for vulnerability scanners (as kcare-uname does)")
    {
        _all, _kernelName, _nodeName, _release, _version, _machine, _processor, _platform, _os,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var status = await invocation.Client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        var fields = Fields(status, ReadProc("hostname") ?? Environment.MachineName);
        var all = parseResult.GetValue(_all);
        var wanted = new List<string>();
        void Add(bool on, string value)
        {
            if (on)
            {
                wanted.Add(value);
            }
        }

        Add(all || parseResult.GetValue(_kernelName), fields.KernelName);
        Add(all || parseResult.GetValue(_nodeName), fields.NodeName);
        Add(all || parseResult.GetValue(_release), fields.Release);
        Add(all || parseResult.GetValue(_version), fields.Version);
        Add(all || parseResult.GetValue(_machine), fields.Machine);
        Add(!all && parseResult.GetValue(_processor), "unknown");
        Add(!all && parseResult.GetValue(_platform), "unknown");
        Add(all || parseResult.GetValue(_os), "GNU/Linux");
        if (wanted.Count == 0)
        {
            wanted.Add(fields.KernelName);
        }

        invocation.Write(string.Join(' ', wanted) + "\n");
        return ExitCodes.Ok;
    }

    /// <summary>The fields, with the running package version replaced by the effective level where it appears.</summary>
    internal static (string KernelName, string NodeName, string Release, string Version, string Machine) Fields(AgentStatus status, string nodeName)
    {
        ArgumentNullException.ThrowIfNull(status);
        var release = status.Kernel?.Release ?? string.Empty;
        var version = status.Kernel?.Version ?? string.Empty;
        if (status.Posture is { Available: true } posture
            && posture.RunningVersion.Length > 0
            && posture.EffectiveVersion.Length > 0
            && posture.EffectiveVersion != posture.RunningVersion)
        {
            release = release.Replace(posture.RunningVersion, posture.EffectiveVersion, StringComparison.Ordinal);
            version = version.Replace(posture.RunningVersion, posture.EffectiveVersion, StringComparison.Ordinal);
        }

        return ("Linux", nodeName, release, version, Machine());
    }

    private static string Machine() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => "x86_64",
        Architecture.Arm64 => "aarch64",
        Architecture.X86 => "i686",
        Architecture.Arm => "armv7l",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.RiscV64 => "riscv64",
        Architecture.LoongArch64 => "loongarch64",
        var other => other.ToString().ToLowerInvariant(),
    };

    private static string? ReadProc(string name)
    {
        try
        {
            return File.ReadAllText(Path.Combine("/proc/sys/kernel", name)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

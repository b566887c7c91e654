using System.Runtime.InteropServices;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Linux.Native;
using LivePatchAgent.Linux.Sysfs;

namespace LivePatchAgent.Daemon.Operations;

/// <summary>
/// What the kernel's answers mean, in one place: the errno of finit_module and delete_module, and the outcome of a
/// write to a patch's sysfs attributes, each mapped onto a catalogued reason with a message that names the cause
/// livepatchd can see and what to do.
/// </summary>
internal static class KernelErrors
{
    /// <summary>finit_module failed with <paramref name="errno"/>.</summary>
    public static AgentException ForLoad(int errno, string name, KernelFacts kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var what = KernelModules.Describe(errno);
        return errno switch
        {
            KernelModules.Ebusy => new KernelBusyException(ErrorReason.TransitionInProgress,
                $"cannot load {name}: another live patch is in transition (or ftrace refused the function): {what}"),
            KernelModules.Eexist => new AgentException(ErrorReason.AlreadyLoaded, $"cannot load {name}: a module of that name is already loaded"),
            KernelModules.Ekeyrejected or KernelModules.Enokey or KernelModules.Ebadmsg or KernelModules.Enopkg => new AgentException(ErrorReason.KernelRejectedSignature,
                $"the kernel rejected the signature of {name} ({what}): livepatchd trusts the signer, but the kernel's keyrings do not"
                + (kernel.SigEnforce == true ? " and module.sig_enforce is on" : string.Empty)),
            KernelModules.Eperm or KernelModules.Eacces => new AgentException(ErrorReason.KernelRefused, $"the kernel refused to load {name}: {PermissionCause(kernel)}"),
            KernelModules.Enoexec => new AgentException(ErrorReason.ModuleRejected, $"the kernel found {name} invalid for this kernel ({what}); dmesg has the details"),
            KernelModules.Einval => new AgentException(ErrorReason.ModuleRejected, $"the kernel or its livepatch core refused {name} ({what}): an unresolvable symbol or an incompatible patch state; dmesg has the details"),
            KernelModules.Enoent => new AgentException(ErrorReason.UnknownSymbol, $"{name} needs a symbol the kernel cannot resolve ({what}); load the modules it depends on first, dmesg names the symbol"),
            // load_module itself never answers these: they come from the module's init, i.e. from klp_enable_patch
            // running the patch's pre-patch callbacks. The patch looked at the system and declined.
            KernelModules.Enodev or KernelModules.Enxio or KernelModules.Ecanceled => new AgentException(ErrorReason.PatchRefusedItself,
                $"{name} declined to apply ({what}): its own init or pre-patch callback refused this system, so the module was unloaded again; dmesg has its message (\"pre-patch callback failed for object ...\")"),
            KernelModules.Enosys => NoModuleSyscalls("load", name, RuntimeInformation.ProcessArchitecture),
            _ => new AgentException(ErrorReason.LoadFailed, $"finit_module failed for {name}: {what}; dmesg may say why"),
        };
    }

    /// <summary>delete_module failed with <paramref name="errno"/> (0 and ENOENT are not failures).</summary>
    public static AgentException ForRemove(int errno, string name, KernelFacts kernel) => errno switch
    {
        KernelModules.Eagain or KernelModules.Ebusy => new KernelBusyException(ErrorReason.ModuleInUse,
            $"module {name} is still in use (refcount not zero, or another module depends on it): {KernelModules.Describe(errno)}"),
        KernelModules.Eperm => new AgentException(ErrorReason.KernelRefused, $"the kernel refused to remove {name}: {PermissionCause(kernel)}"),
        KernelModules.Enosys => NoModuleSyscalls("remove", name, RuntimeInformation.ProcessArchitecture),
        _ => new AgentException(ErrorReason.Internal, $"cannot remove module {name}: {KernelModules.Describe(errno)}"),
    };

    /// <summary>
    /// ENOSYS: either livepatchd does not know the module syscall numbers of <paramref name="architecture"/> (the
    /// loader then answers ENOSYS itself instead of calling syscall(-1)), or the kernel said it, which with
    /// livepatch present (it needs CONFIG_MODULES) means a seccomp filter denied the call.
    /// </summary>
    public static AgentException NoModuleSyscalls(string verb, string name, Architecture architecture) =>
        KernelModules.SupportedOn(architecture)
            ? new AgentException(ErrorReason.ModuleSyscallsUnsupported,
                $"cannot {verb} {name}: the kernel answered ENOSYS for the module syscall; a seccomp filter (SystemCallFilter=, a container profile) most likely denies it to livepatchd")
            : new AgentException(ErrorReason.ModuleSyscallsUnsupported,
                $"cannot {verb} {name}: livepatchd does not support loading modules on the {ArchitectureName(architecture)} architecture (it knows the module syscalls of x86_64 and aarch64 only); nothing was sent to the kernel");

    private static string ArchitectureName(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "x86_64",
        Architecture.Arm64 => "aarch64",
        Architecture.X86 => "i386",
        _ => architecture.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// A write to a patch's <c>enabled</c> or <c>force</c> failed; <paramref name="verb"/> says what was tried
    /// ("disable", "revert", "force"). Busy is worth retrying; the rest is final.
    /// </summary>
    public static AgentException ForControl(LivepatchControl.Outcome outcome, string? error, string verb, string name) => outcome switch
    {
        LivepatchControl.Outcome.Busy => new KernelBusyException(ErrorReason.TransitionInProgress, $"cannot {verb} {name}: another live patch is in transition"),
        LivepatchControl.Outcome.Denied => new AgentException(ErrorReason.KernelRefused, $"cannot {verb} {name}: {error}; livepatchd needs root"),
        LivepatchControl.Outcome.Gone => new AgentException(ErrorReason.NoTransition, $"cannot {verb} {name}: it finished its transition or left the kernel meanwhile"),
        _ => new AgentException(ErrorReason.Internal, $"cannot {verb} {name}: {error}"),
    };

    /// <summary>Names what most likely made the kernel answer EPERM, from what the daemon can see.</summary>
    public static string PermissionCause(KernelFacts kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (kernel.ModulesDisabled == true)
        {
            return "kernel.modules_disabled is set (until reboot)";
        }

        if (kernel.Lockdown is "integrity" or "confidentiality")
        {
            return $"the kernel is in lockdown mode \"{kernel.Lockdown}\", which refuses modules it cannot verify with its own keys";
        }

        return Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root"
            ? "permission denied (a security module refused it, or CAP_SYS_MODULE is missing)"
            : "permission denied: livepatchd is not running as root (CAP_SYS_MODULE is needed)";
    }
}

/// <summary>The kernel answered "busy"; worth retrying until the deadline.</summary>
internal sealed class KernelBusyException(ErrorReason reason, string message) : AgentException(reason, message);

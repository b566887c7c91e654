using System.Runtime.InteropServices;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Linux.Native;

namespace LivePatchAgent.Unit.Tests.Daemon.Operations;

public sealed class KernelErrorsTests
{
    private static readonly KernelFacts Kernel = new() { Release = "6.1.0-56-amd64", LivepatchSupported = true };

    [Theory]
    [InlineData(Architecture.S390x, "s390x")]
    [InlineData(Architecture.RiscV64, "riscv64")]
    [InlineData(Architecture.X86, "i386")]
    public void Enosys_on_an_unsupported_architecture_names_it(Architecture architecture, string name)
    {
        var e = KernelErrors.NoModuleSyscalls("load", "lpdemo_v1", architecture);

        Assert.Equal(ErrorReason.ModuleSyscallsUnsupported, e.Reason);
        Assert.Contains($"cannot load lpdemo_v1: livepatchd does not support loading modules on the {name} architecture", e.Message, StringComparison.Ordinal);
        Assert.Contains("x86_64 and aarch64", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Architecture.X64)]
    [InlineData(Architecture.Arm64)]
    public void Enosys_on_a_supported_architecture_blames_a_seccomp_filter(Architecture architecture)
    {
        var e = KernelErrors.NoModuleSyscalls("remove", "lpdemo_v1", architecture);

        Assert.Equal(ErrorReason.ModuleSyscallsUnsupported, e.Reason);
        Assert.Contains("cannot remove lpdemo_v1: the kernel answered ENOSYS", e.Message, StringComparison.Ordinal);
        Assert.Contains("seccomp", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_load_or_remove_answered_enosys_is_module_syscalls_unsupported()
    {
        var load = KernelErrors.ForLoad(KernelModules.Enosys, "lpdemo_v1", Kernel);
        var remove = KernelErrors.ForRemove(KernelModules.Enosys, "lpdemo_v1", Kernel);

        Assert.Equal(ErrorReason.ModuleSyscallsUnsupported, load.Reason);
        Assert.Equal(ErrorReason.ModuleSyscallsUnsupported, remove.Reason);
        Assert.StartsWith("cannot load lpdemo_v1: ", load.Message, StringComparison.Ordinal);
        Assert.StartsWith("cannot remove lpdemo_v1: ", remove.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_unsupported_loader_and_the_mapping_agree()
    {
        // What KernelModuleLoader answers on an unknown architecture is what KernelErrors maps to this reason.
        var errno = new KernelModuleLoader(Architecture.S390x).Remove("lpdemo_v1");

        Assert.Equal(ErrorReason.ModuleSyscallsUnsupported, KernelErrors.ForRemove(errno, "lpdemo_v1", Kernel).Reason);
    }
}

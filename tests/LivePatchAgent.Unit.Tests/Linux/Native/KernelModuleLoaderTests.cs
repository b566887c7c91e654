using System.Runtime.InteropServices;
using LivePatchAgent.Linux.Native;

namespace LivePatchAgent.Unit.Tests.Linux.Native;

/// <summary>
/// On an architecture whose module syscall numbers are unknown, the loader answers ENOSYS itself instead of
/// calling syscall(-1). (The supported path loads real modules and is exercised by the QEMU scenarios.)
/// </summary>
public sealed class KernelModuleLoaderTests
{
    [Theory]
    [InlineData(Architecture.X64, true)]
    [InlineData(Architecture.Arm64, true)]
    [InlineData(Architecture.X86, false)]
    [InlineData(Architecture.Arm, false)]
    [InlineData(Architecture.S390x, false)]
    [InlineData(Architecture.RiscV64, false)]
    [InlineData(Architecture.Ppc64le, false)]
    [InlineData(Architecture.LoongArch64, false)]
    public void The_module_syscalls_are_known_on_x86_64_and_aarch64_only(Architecture architecture, bool known) =>
        Assert.Equal(known, KernelModules.SupportedOn(architecture));

    [Fact]
    public void The_running_architecture_agrees_with_the_syscall_table() =>
        Assert.Equal(KernelModules.SupportedOn(RuntimeInformation.ProcessArchitecture), Syscalls.ModuleSyscallsSupported);

    [Theory]
    [InlineData(Architecture.S390x)]
    [InlineData(Architecture.RiscV64)]
    public void A_load_on_an_unsupported_architecture_is_enosys(Architecture architecture)
    {
        using var image = SealedModuleImage.Create("lpa-test", TestData.Read("lpdemo_v1.signed.ko"));

        Assert.Equal(KernelModules.Enosys, new KernelModuleLoader(architecture).Load(image));
    }

    [Theory]
    [InlineData(Architecture.S390x)]
    [InlineData(Architecture.RiscV64)]
    public void A_remove_on_an_unsupported_architecture_is_enosys(Architecture architecture) =>
        Assert.Equal(KernelModules.Enosys, new KernelModuleLoader(architecture).Remove("lpdemo_v1"));
}

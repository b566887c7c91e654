using System.Runtime.InteropServices;

namespace LivePatchAgent.Core.Modules;

/// <summary>An ELF <c>e_machine</c> value: the architecture a kernel module is built for.</summary>
public readonly record struct ElfMachine(ushort Code)
{
    /// <summary>EM_X86_64.</summary>
    public static ElfMachine X64 { get; } = new(62);

    /// <summary>EM_AARCH64.</summary>
    public static ElfMachine Arm64 { get; } = new(183);

    /// <summary>The architecture name as <c>uname -m</c> prints it, or "machine N" for one this code does not know.</summary>
    public string Name => Code switch
    {
        3 => "i386",
        21 => "ppc64",
        22 => "s390",
        40 => "arm",
        62 => "x86_64",
        183 => "aarch64",
        243 => "riscv64",
        258 => "loongarch64",
        _ => $"machine {Code}",
    };

    /// <summary>
    /// The machine of the running kernel, judged from this process's architecture (livepatchd is built for the
    /// host). Only little-endian 64-bit architectures are supported, because the module reader is little-endian.
    /// </summary>
    public static ElfMachine Host => ForArchitecture(RuntimeInformation.ProcessArchitecture)
        ?? throw new PlatformNotSupportedException(
            $"livepatchd reads kernel modules of little-endian 64-bit architectures; this host is {RuntimeInformation.ProcessArchitecture}");

    /// <summary>The machine for a .NET architecture, or null when kernel modules of that architecture are not supported.</summary>
    public static ElfMachine? ForArchitecture(Architecture architecture) => architecture switch
    {
        Architecture.X64 => X64,
        Architecture.Arm64 => Arm64,
        Architecture.Ppc64le => new ElfMachine(21),
        Architecture.RiscV64 => new ElfMachine(243),
        Architecture.LoongArch64 => new ElfMachine(258),
        _ => null,
    };

    public override string ToString() => Name;
}

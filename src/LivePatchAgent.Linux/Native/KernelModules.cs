using System.Runtime.InteropServices;

namespace LivePatchAgent.Linux.Native;

/// <summary>
/// Loads and removes kernel modules; results are errnos, mapped to reasons by the caller. An interface so the
/// daemon's integration tests can stand a simulated kernel behind a fixture tree; the real one is exercised by
/// the QEMU scenarios in tests/e2e.
/// </summary>
public interface IKernelModuleLoader
{
    /// <summary>finit_module on the sealed image; 0 or an errno.</summary>
    int Load(SealedModuleImage image);

    /// <summary>delete_module(name, O_NONBLOCK); 0 or an errno.</summary>
    int Remove(string name);
}

/// <summary>
/// The kernel's own module loader. On an architecture whose module syscall numbers livepatchd does not know, it
/// answers ENOSYS without calling the kernel (see <see cref="KernelModules.SupportedOn"/>).
/// </summary>
public sealed class KernelModuleLoader : IKernelModuleLoader
{
    private readonly bool _supported;

    public KernelModuleLoader()
        : this(RuntimeInformation.ProcessArchitecture)
    {
    }

    /// <summary>A loader as it behaves on <paramref name="architecture"/>; tests use it for the unsupported case.</summary>
    internal KernelModuleLoader(Architecture architecture) => _supported = KernelModules.SupportedOn(architecture);

    public int Load(SealedModuleImage image) => _supported ? KernelModules.Load(image) : KernelModules.Enosys;

    public int Remove(string name) => _supported ? KernelModules.Remove(name) : KernelModules.Enosys;
}

/// <summary>The module syscalls and their errnos.</summary>
public static class KernelModules
{
    public const int Eperm = 1;
    public const int Enoent = 2;
    public const int Eintr = 4;
    public const int Enxio = 6;
    public const int Enoexec = 8;
    public const int Ebadf = 9;
    public const int Eagain = 11;
    public const int Enomem = 12;
    public const int Eacces = 13;
    public const int Efault = 14;
    public const int Ebusy = 16;
    public const int Eexist = 17;
    public const int Enodev = 19;
    public const int Einval = 22;
    public const int Etxtbsy = 26;
    public const int Efbig = 27;
    public const int Enosys = 38;
    public const int Enopkg = 65;
    public const int Ebadmsg = 74;
    public const int Eopnotsupp = 95;
    public const int Enokey = 126;
    public const int Ecanceled = 125;
    public const int Ekeyrejected = 129;

    /// <summary>
    /// finit_module on the sealed image, never with the ignore-vermagic or ignore-modversions flags (they also
    /// disable the kernel's signature check). If the kernel refuses the memfd because it counts as open for
    /// writing (ETXTBSY), the same sealed inode is reopened read-only through /proc/self/fd and loaded from there.
    /// </summary>
    public static int Load(SealedModuleImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!Syscalls.ModuleSyscallsSupported)
        {
            return Enosys;
        }

        var errno = Syscalls.FinitModule(image.Handle, flags: 0);
        if (errno != Etxtbsy)
        {
            return errno;
        }

        using var readOnly = File.OpenHandle($"/proc/self/fd/{image.Handle.DangerousGetHandle()}", FileMode.Open, FileAccess.Read);
        return Syscalls.FinitModule(readOnly, flags: 0);
    }

    /// <summary>delete_module(name, O_NONBLOCK), as kmod does; O_TRUNC (forced removal) is never used.</summary>
    public static int Remove(string name) => Syscalls.ModuleSyscallsSupported ? Syscalls.DeleteModule(name, Syscalls.ONonblock) : Enosys;

    /// <summary>Whether livepatchd knows the module syscalls of <paramref name="architecture"/> (x86_64, aarch64).</summary>
    public static bool SupportedOn(Architecture architecture) => Syscalls.ModuleSyscallsSupportedOn(architecture);

    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}

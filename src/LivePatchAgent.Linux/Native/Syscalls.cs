using System.Runtime.InteropServices;

namespace LivePatchAgent.Linux.Native;

/// <summary>
/// The raw syscalls for kernel modules and sealed memory files, and the file descriptor calls the rest of this
/// assembly shares (open, pread, close). glibc has no wrappers for the module syscalls, so they go through
/// syscall(2), whose integer and pointer arguments use the normal calling convention on x86_64 and aarch64.
/// </summary>
internal static partial class Syscalls
{
    public const int MfdCloexec = 0x1;
    public const int MfdAllowSealing = 0x2;
    public const int FAddSeals = 1033;
    public const int FSealSeal = 0x1;
    public const int FSealShrink = 0x2;
    public const int FSealGrow = 0x4;
    public const int FSealWrite = 0x8;
    public const int ORdonly = 0;
    public const int ONonblock = 0x800;
    public const int ODirectory = 0x10000;
    public const int OCloexec = 0x80000;

    private static readonly long FinitModuleNumber = Architecture switch
    {
        Architecture.X64 => 313,
        Architecture.Arm64 => 273,
        _ => -1,
    };

    private static readonly long DeleteModuleNumber = Architecture switch
    {
        Architecture.X64 => 176,
        Architecture.Arm64 => 106,
        _ => -1,
    };

    private static Architecture Architecture => RuntimeInformation.ProcessArchitecture;

    /// <summary>
    /// Whether the module syscall numbers of this process's architecture are known. Without them a call would be
    /// syscall(-1), so <see cref="KernelModules"/> answers ENOSYS itself and never makes it.
    /// </summary>
    public static bool ModuleSyscallsSupported => ModuleSyscallsSupportedOn(Architecture);

    /// <summary>The architectures whose finit_module and delete_module numbers are known: x86_64 and aarch64.</summary>
    public static bool ModuleSyscallsSupportedOn(Architecture architecture) => architecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>finit_module(fd, "", flags); returns 0 or an errno. The parameter string must not be NULL (EFAULT).</summary>
    public static int FinitModule(SafeHandle fd, int flags)
    {
        var added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            return SyscallFd(FinitModuleNumber, (int)fd.DangerousGetHandle(), string.Empty, flags) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }

    /// <summary>delete_module(name, flags); returns 0 or an errno.</summary>
    public static int DeleteModule(string name, int flags) =>
        SyscallName(DeleteModuleNumber, name, flags) == 0 ? 0 : Marshal.GetLastPInvokeError();

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long SyscallFd(long number, int fd, string paramValues, int flags);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long SyscallName(long number, string name, int flags);

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(int fd, ref byte buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}

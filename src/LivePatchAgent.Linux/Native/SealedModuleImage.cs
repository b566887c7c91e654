using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LivePatchAgent.Linux.Native;

/// <summary>
/// Module bytes held in a sealed memfd: once sealed, nobody (not even this process) can change them, so what
/// is verified from <see cref="ReadAll"/> is exactly what finit_module loads from <see cref="Handle"/>. The
/// daemon never opens a path a caller chose.
/// </summary>
public sealed class SealedModuleImage : IDisposable
{
    private SealedModuleImage(SafeFileHandle handle, long length)
    {
        Handle = handle;
        Length = length;
    }

    public SafeFileHandle Handle { get; }

    public long Length { get; }

    /// <summary>Copies <paramref name="bytes"/> into a new memfd and seals it against write, grow and shrink.</summary>
    public static SealedModuleImage Create(string name, ReadOnlySpan<byte> bytes)
    {
        var fd = Syscalls.MemfdCreate("livepatch:" + name, Syscalls.MfdCloexec | Syscalls.MfdAllowSealing);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"memfd_create failed: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            RandomAccess.Write(handle, bytes, 0);
            var seals = Syscalls.FSealWrite | Syscalls.FSealGrow | Syscalls.FSealShrink | Syscalls.FSealSeal;
            if (Syscalls.Fcntl(fd, Syscalls.FAddSeals, seals) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"cannot seal the module memfd: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }

            return new SealedModuleImage(handle, bytes.Length);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads the sealed contents back: the bytes to verify.</summary>
    public byte[] ReadAll()
    {
        var buffer = new byte[Length];
        var total = 0;
        while (total < buffer.Length)
        {
            var n = RandomAccess.Read(Handle, buffer.AsSpan(total), total);
            if (n == 0)
            {
                throw new IOException($"the sealed module image ended after {total} of {Length} bytes");
            }

            total += n;
        }

        return buffer;
    }

    public void Dispose() => Handle.Dispose();
}

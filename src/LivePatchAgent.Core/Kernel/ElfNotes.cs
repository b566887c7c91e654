using System.Buffers.Binary;

namespace LivePatchAgent.Core.Kernel;

/// <summary>
/// Reads ELF note records as the kernel exposes them in /sys/kernel/notes: a sequence of
/// (namesz, descsz, type, name, desc) with name and desc padded to 4 bytes, in the host's byte order.
/// </summary>
public static class ElfNotes
{
    /// <summary>NT_GNU_BUILD_ID.</summary>
    public const uint GnuBuildIdType = 3;

    /// <summary>Returns the GNU build-id in lowercase hex, or null when the notes hold none or are malformed.</summary>
    public static string? FindGnuBuildId(ReadOnlySpan<byte> notes)
    {
        var offset = 0;
        while (notes.Length - offset >= 12)
        {
            var nameSize = BinaryPrimitives.ReadUInt32LittleEndian(notes[offset..]);
            var descSize = BinaryPrimitives.ReadUInt32LittleEndian(notes[(offset + 4)..]);
            var type = BinaryPrimitives.ReadUInt32LittleEndian(notes[(offset + 8)..]);
            offset += 12;

            var namePadded = Align4(nameSize);
            var descPadded = Align4(descSize);
            if (namePadded > (ulong)(notes.Length - offset) || descPadded > (ulong)(notes.Length - offset) - namePadded)
            {
                return null;
            }

            var name = notes.Slice(offset, (int)nameSize);
            var desc = notes.Slice(offset + (int)namePadded, (int)descSize);
            if (type == GnuBuildIdType && name.SequenceEqual("GNU\0"u8) && descSize > 0)
            {
                return Convert.ToHexStringLower(desc);
            }

            offset += (int)(namePadded + descPadded);
        }

        return null;
    }

    private static ulong Align4(uint size) => ((ulong)size + 3) & ~3UL;
}

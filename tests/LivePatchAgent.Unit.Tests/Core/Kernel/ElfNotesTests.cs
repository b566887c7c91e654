using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Unit.Tests.Core.Kernel;

public sealed class ElfNotesTests
{
    private static byte[] Note(string name, uint type, byte[] desc)
    {
        var nameBytes = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        var stream = new MemoryStream();
        stream.Write(BitConverter.GetBytes((uint)nameBytes.Length));
        stream.Write(BitConverter.GetBytes((uint)desc.Length));
        stream.Write(BitConverter.GetBytes(type));
        stream.Write(nameBytes);
        stream.Write(new byte[(4 - (nameBytes.Length % 4)) % 4]);
        stream.Write(desc);
        stream.Write(new byte[(4 - (desc.Length % 4)) % 4]);
        return stream.ToArray();
    }

    [Fact]
    public void Finds_the_gnu_build_id_after_other_notes()
    {
        byte[] id = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb];
        var notes = Note("Xen", 18, [1, 2, 3]).Concat(Note("GNU", 1, [0, 0, 0, 0])).Concat(Note("GNU", 3, id)).ToArray();

        Assert.Equal("0123456789abcdef00112233445566778899aabb", ElfNotes.FindGnuBuildId(notes));
    }

    [Fact]
    public void Returns_null_without_a_build_id() =>
        Assert.Null(ElfNotes.FindGnuBuildId(Note("Linux", 3, [1, 2, 3, 4])));

    [Fact]
    public void Returns_null_for_truncated_or_lying_notes()
    {
        var valid = Note("GNU", 3, [1, 2, 3, 4]);
        for (var length = 0; length < valid.Length; length++)
        {
            Assert.Null(ElfNotes.FindGnuBuildId(valid.AsSpan(0, length)));
        }

        var huge = (byte[])valid.Clone();
        BitConverter.TryWriteBytes(huge.AsSpan(4), uint.MaxValue); // descsz far beyond the buffer
        Assert.Null(ElfNotes.FindGnuBuildId(huge));
    }
}

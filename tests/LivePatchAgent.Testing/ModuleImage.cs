using System.Buffers.Binary;
using System.Text;

namespace LivePatchAgent.Testing;

/// <summary>
/// Writes a minimal but complete kernel module ELF64 image, the shape modpost and the linker produce (null,
/// .modinfo, .gnu.linkonce.this_module, __versions, .symtab, .strtab, .shstrtab), so tests need no compiler.
/// </summary>
public sealed class ModuleImage
{
    public const string Release = "6.1.0-56-amd64";
    public const string Flags = "SMP preempt mod_unload modversions";
    public const string DefaultName = "lp_unit";

    public List<string> ModInfo { get; } =
    [
        "version=1.0",
        "livepatch=Y",
        "description=unit test livepatch",
        "license=GPL",
        "srcversion=E2540489C86A6F9703598D4",
        "depends=",
        "retpoline=Y",
        $"name={DefaultName}",
        $"vermagic={Release} {Flags} ",
    ];

    public string StructModuleName { get; set; } = DefaultName;

    public ushort Machine { get; set; } = 62;

    public bool WithVersions { get; set; } = true;

    public bool WithSymbolTable { get; set; } = true;

    public bool WithThisModule { get; set; } = true;

    /// <summary>Put the section header table right after the ELF header (and the name table first) instead of at the end.</summary>
    public bool SectionTableFirst { get; set; }

    /// <summary>Bytes of NUL padding between .modinfo entries, as the linker leaves for alignment.</summary>
    public int ModInfoPadding { get; set; }

    /// <summary>Bytes of code in a .text section (none when 0), so the benchmarks can build modules of a real size.</summary>
    public int TextSize { get; set; }

    public static byte[] Default() => new ModuleImage().Build();

    public ModuleImage Without(string key)
    {
        ModInfo.RemoveAll(e => e.StartsWith(key + "=", StringComparison.Ordinal));
        return this;
    }

    public ModuleImage With(string key, string value)
    {
        Without(key);
        ModInfo.Add($"{key}={value}");
        return this;
    }

    public byte[] Build() => Build(out _);

    public byte[] Build(out ModuleLayout layout)
    {
        var sections = new List<Section>
        {
            new("", 0, 0, [], 0),
        };

        if (TextSize > 0)
        {
            // int3 padding: the bytes are never run, only hashed and signed.
            var text = new byte[TextSize];
            Array.Fill(text, (byte)0xcc);
            sections.Add(new(".text", 1, 0x6, text, 0));
        }

        var modinfo = new MemoryStream();
        foreach (var entry in ModInfo)
        {
            modinfo.Write(Encoding.UTF8.GetBytes(entry));
            modinfo.Write(new byte[1 + ModInfoPadding]);
        }

        sections.Add(new(".modinfo", 1, 0x2, modinfo.ToArray(), 0));
        if (WithThisModule)
        {
            var thisModule = new byte[0x380];
            Encoding.ASCII.GetBytes(StructModuleName).CopyTo(thisModule, 24);
            sections.Add(new(".gnu.linkonce.this_module", 1, 0x3, thisModule, 0));
        }

        if (WithVersions)
        {
            var versions = new byte[64 * 2];
            BinaryPrimitives.WriteUInt64LittleEndian(versions, 0x1234_5678);
            "module_layout"u8.CopyTo(versions.AsSpan(8));
            BinaryPrimitives.WriteUInt64LittleEndian(versions.AsSpan(64), 0x9abc_def0);
            "klp_enable_patch"u8.CopyTo(versions.AsSpan(72));
            sections.Add(new("__versions", 1, 0x2, versions, 0));
        }

        if (WithSymbolTable)
        {
            // One null symbol; sh_link is fixed up once the string table's index is known.
            sections.Add(new(".symtab", 2, 0, new byte[24], 24));
            sections.Add(new(".strtab", 3, 0, [0], 0));
        }

        var names = new MemoryStream();
        names.WriteByte(0);
        var nameOffsets = new List<uint>();
        foreach (var section in sections)
        {
            if (section.Name.Length == 0)
            {
                nameOffsets.Add(0);
                continue;
            }

            nameOffsets.Add((uint)names.Length);
            names.Write(Encoding.ASCII.GetBytes(section.Name));
            names.WriteByte(0);
        }

        nameOffsets.Add((uint)names.Length);
        names.Write(".shstrtab\0"u8);
        sections.Add(new(".shstrtab", 3, 0, names.ToArray(), 0));

        var count = sections.Count;
        var output = new MemoryStream();
        output.Write(new byte[64]);
        var offsets = new ulong[count];
        var tableOffset = 0;

        void WriteTablePlaceholder()
        {
            Align(output, 8);
            tableOffset = (int)output.Length;
            output.Write(new byte[64 * count]);
        }

        void WriteData(int index)
        {
            Align(output, 8);
            offsets[index] = (ulong)output.Length;
            output.Write(sections[index].Data);
        }

        if (SectionTableFirst)
        {
            WriteTablePlaceholder();
            WriteData(count - 1);
            for (var i = 1; i < count - 1; i++)
            {
                WriteData(i);
            }
        }
        else
        {
            for (var i = 1; i < count; i++)
            {
                WriteData(i);
            }

            WriteTablePlaceholder();
        }

        var bytes = output.ToArray();
        var header = bytes.AsSpan();
        "\x7f"u8.CopyTo(header);
        "ELF"u8.CopyTo(header[1..]);
        header[4] = 2; // ELFCLASS64
        header[5] = 1; // ELFDATA2LSB
        header[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(header[16..], 1); // ET_REL
        BinaryPrimitives.WriteUInt16LittleEndian(header[18..], Machine);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(header[40..], (ulong)tableOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(header[52..], 64); // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(header[58..], 64); // e_shentsize
        BinaryPrimitives.WriteUInt16LittleEndian(header[60..], (ushort)count);
        BinaryPrimitives.WriteUInt16LittleEndian(header[62..], (ushort)(count - 1));

        var strtabIndex = sections.FindIndex(s => s.Name == ".strtab");
        var sectionRanges = new List<SectionRange>();
        for (var i = 0; i < count; i++)
        {
            var section = sections[i];
            var entry = header.Slice(tableOffset + (64 * i), 64);
            BinaryPrimitives.WriteUInt32LittleEndian(entry, nameOffsets[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], section.Type);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], section.Flags);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[24..], offsets[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[32..], (ulong)section.Data.Length);
            if (section.Type == 2)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(entry[40..], (uint)strtabIndex);
                BinaryPrimitives.WriteUInt32LittleEndian(entry[44..], 1);
            }

            BinaryPrimitives.WriteUInt64LittleEndian(entry[48..], i == 0 ? 0UL : 1UL);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[56..], section.EntrySize);
            sectionRanges.Add(new SectionRange(i, section.Name, (int)offsets[i], section.Data.Length));
        }

        layout = new ModuleLayout(tableOffset, count, sectionRanges);
        return bytes;
    }

    private static void Align(MemoryStream stream, int alignment)
    {
        while (stream.Length % alignment != 0)
        {
            stream.WriteByte(0);
        }
    }

    private sealed record Section(string Name, uint Type, ulong Flags, byte[] Data, ulong EntrySize);
}

public sealed record SectionRange(int Index, string Name, int Offset, int Size)
{
    public int End => Offset + Size;
}

/// <summary>Where the builder put things, for tests that cut or patch the image at exact places.</summary>
public sealed record ModuleLayout(int SectionTableOffset, int SectionCount, IReadOnlyList<SectionRange> Sections)
{
    public const int HeaderSize = 64;

    public int SectionTableEnd => SectionTableOffset + (64 * SectionCount);

    public SectionRange this[string name] => Sections.Single(s => s.Name == name);

    public int SectionHeaderOffset(int index) => SectionTableOffset + (64 * index);
}

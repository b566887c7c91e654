using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Core.Modules;

/// <summary>
/// A kernel module file (<c>.ko</c>), read the way the kernel's loader reads it: the appended signature is split
/// off first, then the ELF64 image before it is checked with every offset and length bounded. The bytes are not
/// copied; the caller keeps the buffer alive and unchanged while the module is in use.
/// </summary>
public sealed class KernelModule
{
    // struct module { enum module_state state; struct list_head list; char name[MODULE_NAME_LEN]; ... }: on 64-bit
    // the name starts at offset 24 and MODULE_NAME_LEN is 64 - sizeof(unsigned long) = 56. This layout has not
    // changed since 2.6.
    private const int StructModuleNameOffset = 24;
    private const int ModuleNameLength = 56;

    private KernelModule(
        ReadOnlyMemory<byte> file,
        ElfMachine machine,
        string name,
        ModuleInfo modInfo,
        bool hasModInfo,
        bool hasModversions,
        SignatureTrailer signature,
        ImmutableArray<ElfSection> sections)
    {
        Bytes = file;
        Machine = machine;
        Name = name;
        ModInfo = modInfo;
        HasModInfo = hasModInfo;
        HasModversions = hasModversions;
        Signature = signature;
        Sections = sections;
    }

    /// <summary>The whole file, signature included.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    public long Size => Bytes.Length;

    public ElfMachine Machine { get; }

    /// <summary>
    /// The name in <c>struct module</c> (<c>.gnu.linkonce.this_module</c>): the kernel registers the module, and
    /// a live patch its <c>/sys/kernel/livepatch</c> directory, under this name. It is a valid module name, and it
    /// equals <c>.modinfo</c>'s <c>name=</c> when that is present.
    /// </summary>
    public string Name { get; }

    /// <summary>The parsed <c>.modinfo</c>; <see cref="ModuleInfo.Empty"/> when the module has none.</summary>
    public ModuleInfo ModInfo { get; }

    public bool HasModInfo { get; }

    /// <summary>
    /// Whether the module has a <c>__versions</c> section (built with CONFIG_MODVERSIONS). The kernel then ignores
    /// the release in vermagic and relies on symbol CRCs, which live patches largely bypass.
    /// </summary>
    public bool HasModversions { get; }

    /// <summary>The appended signature trailer: absent, well-formed, or malformed with the reason.</summary>
    public SignatureTrailer Signature { get; }

    internal ImmutableArray<ElfSection> Sections { get; }

    /// <summary>SHA-256 of the whole file, lowercase hex: what <c>sha256sum</c> prints.</summary>
    public string ComputeSha256() => Convert.ToHexStringLower(SHA256.HashData(Bytes.Span));

    /// <summary>
    /// Reads a module for <paramref name="expectedMachine"/>. Throws <see cref="AgentException"/> with
    /// <see cref="ErrorReason.ModuleMalformed"/> naming what is wrong and where; a malformed signature trailer is
    /// not an error here but is reported in <see cref="Signature"/>.
    /// </summary>
    public static KernelModule Parse(ReadOnlyMemory<byte> file, ElfMachine expectedMachine)
    {
        var signature = ModuleSignature.ReadTrailer(file);
        var image = new ElfImage(file.Span[..signature.SignedLength], signature.State != SignatureState.Absent);
        var sections = image.ReadSections(expectedMachine);

        var modInfoSection = FindUnique(sections, ".modinfo", required: false);
        var thisModule = FindUnique(sections, ".gnu.linkonce.this_module", required: true)!;
        var hasModversions = sections.Any(s => s.Name == "__versions");

        var modInfo = ModuleInfo.Empty;
        if (modInfoSection is not null)
        {
            if (!modInfoSection.HasContents)
            {
                throw Malformed($"{modInfoSection} has no contents ({modInfoSection.TypeName})");
            }

            modInfo = ModuleInfo.Parse(image.Contents(modInfoSection), modInfoSection.Offset);
        }

        var name = ReadStructModuleName(image, thisModule);
        if (modInfo.Name is { } modInfoName && modInfoName != name)
        {
            throw Malformed(
                $".modinfo says the module is named {DisplayText.Quote(modInfoName)}, but .gnu.linkonce.this_module names it {DisplayText.Quote(name)}; modpost writes the same name to both");
        }

        return new KernelModule(file, expectedMachine, name, modInfo, modInfoSection is not null, hasModversions, signature, sections);
    }

    private static ElfSection? FindUnique(ImmutableArray<ElfSection> sections, string name, bool required)
    {
        var found = sections.Where(s => s.Name == name).ToList();
        return found.Count switch
        {
            0 when required => throw Malformed($"the file has no {name} section: it is an ELF object, but not a kernel module"),
            0 => null,
            1 => found[0],
            _ => throw Malformed(
                $"{found.Count} sections are named {name} (sections {string.Join(", ", found.Select(s => s.Index))}); a kernel module has exactly one"),
        };
    }

    private static string ReadStructModuleName(ElfImage image, ElfSection thisModule)
    {
        if (!thisModule.HasContents)
        {
            throw Malformed($"{thisModule} has no contents ({thisModule.TypeName}); the kernel requires it to hold struct module");
        }

        if ((thisModule.Flags & ElfSection.AllocFlag) == 0)
        {
            throw Malformed($"{thisModule} is not SHF_ALLOC; the kernel requires struct module to be loaded into memory");
        }

        var contents = image.Contents(thisModule);
        if (contents.Length < StructModuleNameOffset + ModuleNameLength)
        {
            throw Malformed($"{thisModule} is {contents.Length} bytes, too small to hold struct module (about 1 KiB in any current kernel)");
        }

        var field = contents.Slice(StructModuleNameOffset, ModuleNameLength);
        var length = field.IndexOf((byte)0);
        var fieldOffset = DisplayText.Hex(thisModule.Offset + StructModuleNameOffset);
        if (length < 0)
        {
            throw Malformed($"the module name in .gnu.linkonce.this_module at offset {fieldOffset} is not NUL-terminated within {ModuleNameLength} bytes");
        }

        var name = Encoding.Latin1.GetString(field[..length]);
        if (ModuleName.Validate(name) is { } problem)
        {
            throw Malformed($"the module name {DisplayText.Quote(name)} in .gnu.linkonce.this_module at offset {fieldOffset} is not valid: {problem}");
        }

        return name;
    }

    private static AgentException Malformed(string message) => new(ErrorReason.ModuleMalformed, message);
}

/// <summary>One ELF64 section header, with its name resolved.</summary>
internal sealed record ElfSection(int Index, string Name, uint Type, ulong Flags, ulong Offset, ulong Size, uint Link)
{
    public const uint Null = 0;
    public const uint SymbolTable = 2;
    public const uint NoBits = 8;
    public const ulong AllocFlag = 0x2;

    /// <summary>
    /// Whether the section occupies bytes of the file. Only such sections are bounds-checked (as in the kernel),
    /// so only their contents may be read.
    /// </summary>
    public bool HasContents => Type is not (Null or NoBits);

    public string TypeName => Type switch
    {
        Null => "SHT_NULL",
        NoBits => "SHT_NOBITS",
        _ => $"type {Type}",
    };

    public override string ToString() => Name.Length == 0 ? $"section {Index}" : $"section {Index} ({Name})";
}

/// <summary>
/// The ELF64 little-endian image of a module: the bytes before any signature. Checks the same things as the
/// kernel's <c>elf_validity_check</c>, and names the field and offset of the first problem.
/// </summary>
internal readonly ref struct ElfImage
{
    private const int HeaderSize = 64;
    private const int SectionHeaderSize = 64;
    private const ushort RelocatableType = 1;

    private readonly ReadOnlySpan<byte> _bytes;
    private readonly bool _signed;

    public ElfImage(ReadOnlySpan<byte> bytes, bool signed)
    {
        _bytes = bytes;
        _signed = signed;
    }

    private string End => _signed
        ? $"the end of the module image ({DisplayText.Hex((ulong)_bytes.Length)} bytes before the signature)"
        : $"the end of the file ({DisplayText.Hex((ulong)_bytes.Length)} bytes)";

    /// <summary>The bytes of a section with <see cref="ElfSection.HasContents"/>, which were bounds-checked.</summary>
    public ReadOnlySpan<byte> Contents(ElfSection section) => section.HasContents
        ? _bytes.Slice((int)section.Offset, (int)section.Size)
        : throw new InvalidOperationException($"{section} has no contents in the file; check HasContents first");

    public ImmutableArray<ElfSection> ReadSections(ElfMachine expectedMachine)
    {
        CheckHeader(expectedMachine);

        var sectionTableOffset = BinaryPrimitives.ReadUInt64LittleEndian(_bytes[40..]);
        var entrySize = BinaryPrimitives.ReadUInt16LittleEndian(_bytes[58..]);
        var count = BinaryPrimitives.ReadUInt16LittleEndian(_bytes[60..]);
        var nameTableIndex = BinaryPrimitives.ReadUInt16LittleEndian(_bytes[62..]);

        if (entrySize != SectionHeaderSize)
        {
            throw Malformed($"e_shentsize is {entrySize}; ELF64 section headers are {SectionHeaderSize} bytes");
        }

        if (count == 0)
        {
            throw Malformed("the ELF header lists no sections (e_shnum is 0)");
        }

        var length = (ulong)_bytes.Length;
        var tableSize = (ulong)count * SectionHeaderSize;
        if (sectionTableOffset >= length || tableSize > length - sectionTableOffset)
        {
            throw Malformed(
                $"section header table at offset {DisplayText.Hex(sectionTableOffset)} ({SectionHeaderSize} x {count} bytes) extends past {End}");
        }

        if (nameTableIndex >= count)
        {
            throw Malformed($"e_shstrndx {nameTableIndex} is not a section index: the file has {count} sections");
        }

        var headers = new RawSection[count];
        for (var i = 0; i < count; i++)
        {
            headers[i] = RawSection.Read(_bytes.Slice((int)sectionTableOffset + (i * SectionHeaderSize), SectionHeaderSize));
        }

        var first = headers[0];
        if (first.Type != ElfSection.Null || first.Size != 0 || first.Address != 0)
        {
            throw Malformed($"section 0 must be the null section, but has type {first.Type}, size {first.Size} and address {DisplayText.Hex(first.Address)}");
        }

        var names = ReadNameTable(headers[nameTableIndex], nameTableIndex);
        var sections = ImmutableArray.CreateBuilder<ElfSection>(count);
        for (var i = 0; i < count; i++)
        {
            var raw = headers[i];
            if (raw.NameOffset >= (ulong)names.Length)
            {
                throw Malformed(
                    $"section {i}'s name offset {raw.NameOffset} is outside the section name table ({names.Length} bytes)");
            }

            var nameBytes = names[(int)raw.NameOffset..];
            var name = Encoding.Latin1.GetString(nameBytes[..nameBytes.IndexOf((byte)0)]);
            var section = new ElfSection(i, name, raw.Type, raw.Flags, raw.Offset, raw.Size, raw.Link);
            if (section.HasContents)
            {
                CheckBounds(section);
            }

            sections.Add(section);
        }

        CheckSymbolTable(sections, count);
        return sections.MoveToImmutable();
    }

    private void CheckHeader(ElfMachine expectedMachine)
    {
        if (_bytes.Length >= 4 && !_bytes[..4].SequenceEqual("\x7f"u8 + "ELF"u8))
        {
            throw Malformed(NotElf(_bytes));
        }

        if (_bytes.Length < HeaderSize)
        {
            throw Malformed(_bytes.Length < 4
                ? $"the module image is {_bytes.Length} bytes: too short to be an ELF file"
                : $"the ELF header is truncated: the module image is {_bytes.Length} bytes, the header {HeaderSize}");
        }

        switch (_bytes[4])
        {
            case 2:
                break;
            case 1:
                throw Malformed("ELF class 1 (32-bit); kernel modules here are 64-bit");
            default:
                throw Malformed($"ELF class {_bytes[4]} is not valid (offset 0x4); kernel modules here are 64-bit (class 2)");
        }

        switch (_bytes[5])
        {
            case 1:
                break;
            case 2:
                throw Malformed("ELF data encoding 2 (big-endian); kernel modules here are little-endian");
            default:
                throw Malformed($"ELF data encoding {_bytes[5]} is not valid (offset 0x5); kernel modules here are little-endian (1)");
        }

        var type = BinaryPrimitives.ReadUInt16LittleEndian(_bytes[16..]);
        if (type != RelocatableType)
        {
            var kind = type switch
            {
                0 => "ET_NONE",
                2 => "ET_EXEC, an executable",
                3 => "ET_DYN, a shared object or PIE executable",
                4 => "ET_CORE, a core dump",
                _ => "unknown",
            };
            throw Malformed($"ELF type {type} ({kind}) is not ET_REL (1): a kernel module is a relocatable object");
        }

        var machine = new ElfMachine(BinaryPrimitives.ReadUInt16LittleEndian(_bytes[18..]));
        if (machine != expectedMachine)
        {
            throw Malformed($"e_machine {machine.Code} ({machine.Name}) does not match this host ({expectedMachine.Name})");
        }
    }

    private static string NotElf(ReadOnlySpan<byte> bytes)
    {
        var start = Convert.ToHexStringLower(bytes[..4]);
        string? format = null;
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0x1f, 0x8b]))
        {
            format = "gzip";
        }
        else if (bytes.StartsWith((ReadOnlySpan<byte>)[0xfd, (byte)'7', (byte)'z', (byte)'X']))
        {
            format = "xz";
        }
        else if (bytes.StartsWith((ReadOnlySpan<byte>)[0x28, 0xb5, 0x2f, 0xfd]))
        {
            format = "zstd";
        }

        return format is null
            ? $"not an ELF file: it starts with {start}, not 7f454c46 (\\x7fELF)"
            : $"not an ELF file: it starts with {start}, which is {format}-compressed data; decompress the module first";
    }

    private ReadOnlySpan<byte> ReadNameTable(RawSection header, int index)
    {
        if (header.Type == ElfSection.NoBits)
        {
            throw Malformed($"the section name table (section {index}) has no contents (SHT_NOBITS)");
        }

        if (header.Offset > (ulong)_bytes.Length || header.Size > (ulong)_bytes.Length - header.Offset)
        {
            throw Malformed(
                $"the section name table (section {index}) at offset {DisplayText.Hex(header.Offset)} ({header.Size} bytes) extends past {End}");
        }

        if (header.Size == 0)
        {
            throw Malformed($"the section name table (section {index}) is empty");
        }

        var table = _bytes.Slice((int)header.Offset, (int)header.Size);
        if (table[^1] != 0)
        {
            throw Malformed(
                $"the section name table (section {index}) at offset {DisplayText.Hex(header.Offset)} does not end with a NUL byte");
        }

        return table;
    }

    private void CheckBounds(ElfSection section)
    {
        var length = (ulong)_bytes.Length;
        if (section.Offset > length || section.Size > length - section.Offset)
        {
            throw Malformed(
                $"{section} at offset {DisplayText.Hex(section.Offset)} ({section.Size} bytes) extends past {End}");
        }
    }

    private static void CheckSymbolTable(ImmutableArray<ElfSection>.Builder sections, int count)
    {
        var symbolTables = sections.Where(s => s.Type == ElfSection.SymbolTable).ToList();
        if (symbolTables.Count == 0)
        {
            throw Malformed("the module has no symbol table; the kernel refuses stripped modules (strip them with --strip-debug only)");
        }

        if (symbolTables.Count > 1)
        {
            throw Malformed(
                $"the module has {symbolTables.Count} symbol tables (sections {string.Join(", ", symbolTables.Select(s => s.Index))}); the kernel accepts exactly one");
        }

        var link = symbolTables[0].Link;
        if (link == 0 || link >= count)
        {
            throw Malformed($"the symbol table ({symbolTables[0]}) links to string table section {link}, which does not exist");
        }
    }

    private static AgentException Malformed(string message) => new(ErrorReason.ModuleMalformed, message);

    private readonly record struct RawSection(uint NameOffset, uint Type, ulong Flags, ulong Address, ulong Offset, ulong Size, uint Link)
    {
        public static RawSection Read(ReadOnlySpan<byte> header) => new(
            BinaryPrimitives.ReadUInt32LittleEndian(header),
            BinaryPrimitives.ReadUInt32LittleEndian(header[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[32..]),
            BinaryPrimitives.ReadUInt32LittleEndian(header[40..]));
    }
}

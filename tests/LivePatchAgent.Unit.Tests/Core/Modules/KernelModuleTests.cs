using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Unit.Tests.Core.Modules;

public sealed class KernelModuleTests
{
    private static KernelModule Parse(byte[] bytes) => KernelModule.Parse(bytes, ElfMachine.X64);

    private static AgentException Malformed(byte[] bytes)
    {
        var error = Assert.Throws<AgentException>(() => Parse(bytes));
        Assert.Equal(ErrorReason.ModuleMalformed, error.Reason);
        return error;
    }

    [Fact]
    public void Reads_name_modinfo_and_sections_of_a_well_formed_module()
    {
        var module = Parse(ModuleImage.Default());

        Assert.Equal("lp_unit", module.Name);
        Assert.Equal(ElfMachine.X64, module.Machine);
        Assert.True(module.HasModInfo);
        Assert.True(module.HasModversions);
        Assert.Equal(SignatureState.Absent, module.Signature.State);
        Assert.Equal(module.Size, module.Signature.SignedLength);
        Assert.Equal(
            ["", ".modinfo", ".gnu.linkonce.this_module", "__versions", ".symtab", ".strtab", ".shstrtab"],
            module.Sections.Select(s => s.Name));

        var info = module.ModInfo;
        Assert.Equal("lp_unit", info.Name);
        Assert.Equal("6.1.0-56-amd64 SMP preempt mod_unload modversions ", info.Vermagic);
        Assert.Equal("Y", info.Livepatch);
        Assert.True(info.IsLivepatch);
        Assert.Equal("E2540489C86A6F9703598D4", info.SrcVersion);
        Assert.Equal("Y", info.Retpoline);
        Assert.Equal("GPL", info.License);
        Assert.Equal("unit test livepatch", info.Description);
        Assert.Null(info.InTree);
        Assert.Empty(info.Depends);
        Assert.Equal(9, info.Entries.Length);
    }

    [Fact]
    public void Modinfo_skips_nul_runs_keeps_repeated_keys_and_splits_depends()
    {
        var image = new ModuleImage { ModInfoPadding = 5 }
            .With("alias", "first")
            .With("depends", "a,b,,c")
            .With("intree", "Y");
        image.ModInfo.Add("alias=second");
        image.ModInfo.Add("parm=value=with=equals");

        var info = Parse(image.Build()).ModInfo;

        Assert.Equal("first", info.Get("alias"));
        Assert.Equal(["first", "second"], info.GetAll("alias").ToArray());
        Assert.Equal(["a", "b", "c"], info.Depends.ToArray());
        Assert.Equal("Y", info.InTree);
        Assert.Equal("value=with=equals", info.Get("parm"));
        Assert.Null(info.Get("missing"));
    }

    [Fact]
    public void A_module_without_modinfo_parses_with_empty_modinfo()
    {
        var image = new ModuleImage();
        image.ModInfo.Clear();
        var bytes = image.Build(out var layout);
        // An empty .modinfo is still a .modinfo; rename it to make it absent.
        var nameOffset = FindSectionName(bytes, layout, ".modinfo");
        bytes[nameOffset + 1] = (byte)'x';

        var module = Parse(bytes);

        Assert.False(module.HasModInfo);
        Assert.Same(ModuleInfo.Empty, module.ModInfo);
    }

    [Fact]
    public void Rejects_a_modinfo_entry_that_is_not_key_value_and_names_its_offset()
    {
        var image = new ModuleImage();
        image.ModInfo.Insert(1, "no equals sign");
        var bytes = image.Build(out var layout);
        var entryOffset = layout[".modinfo"].Offset + image.ModInfo[0].Length + 1;

        var error = Malformed(bytes);

        Assert.Equal($".modinfo entry at offset 0x{entryOffset:x} is not key=value: \"no equals sign\"", error.Message);
    }

    [Fact]
    public void Rejects_an_empty_modinfo_key_and_an_unterminated_last_entry()
    {
        var image = new ModuleImage();
        image.ModInfo.Add("=value");
        Assert.Contains("has an empty key", Malformed(image.Build()).Message);

        var bytes = ModuleImage.Default();
        var modinfo = Layout(out _)[".modinfo"];
        bytes = ModuleImage.Default();
        bytes[modinfo.End - 1] = (byte)'x'; // the last entry's NUL
        Assert.Contains("without a terminating NUL byte", Malformed(bytes).Message);
    }

    [Fact]
    public void Modinfo_text_in_messages_is_escaped()
    {
        var image = new ModuleImage();
        image.ModInfo.Add("evil\nline\x1b[31m");

        var message = Malformed(image.Build()).Message;

        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain('\x1b', message);
        Assert.Contains("\\x0a", message);
    }

    [Fact]
    public void The_name_comes_from_struct_module_and_must_match_modinfo()
    {
        var image = new ModuleImage { StructModuleName = "other_name" };
        Assert.Equal(
            ".modinfo says the module is named \"lp_unit\", but .gnu.linkonce.this_module names it \"other_name\"; modpost writes the same name to both",
            Malformed(image.Build()).Message);

        var withoutModinfoName = new ModuleImage { StructModuleName = "from_struct" }.Without("name");
        Assert.Equal("from_struct", Parse(withoutModinfoName.Build()).Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../../etc")]
    [InlineData("a.b")]
    public void Rejects_a_struct_module_name_that_is_not_a_valid_module_name(string name)
    {
        var image = new ModuleImage { StructModuleName = name }.Without("name");

        Assert.Contains("in .gnu.linkonce.this_module at offset", Malformed(image.Build()).Message);
    }

    [Fact]
    public void Rejects_an_unterminated_struct_module_name()
    {
        var bytes = ModuleImage.Default();
        var thisModule = Layout(out _)[".gnu.linkonce.this_module"];
        bytes.AsSpan(thisModule.Offset + 24, 56).Fill((byte)'a');

        Assert.Equal(
            $"the module name in .gnu.linkonce.this_module at offset 0x{thisModule.Offset + 24:x} is not NUL-terminated within 56 bytes",
            Malformed(bytes).Message);
    }

    [Fact]
    public void Requires_exactly_one_this_module_section_and_one_symbol_table()
    {
        Assert.Equal(
            "the file has no .gnu.linkonce.this_module section: it is an ELF object, but not a kernel module",
            Malformed(new ModuleImage { WithThisModule = false }.Build()).Message);
        Assert.StartsWith("the module has no symbol table", Malformed(new ModuleImage { WithSymbolTable = false }.Build()).Message);

        var bytes = ModuleImage.Default();
        var layout = Layout(out _);
        var modinfoName = FindSectionName(bytes, layout, ".modinfo");
        // Point .modinfo's name at .gnu.linkonce.this_module's: two sections of that name.
        var thisModuleHeader = layout.SectionHeaderOffset(2);
        var modinfoHeader = layout.SectionHeaderOffset(1);
        bytes.AsSpan(thisModuleHeader, 4).CopyTo(bytes.AsSpan(modinfoHeader));
        Assert.NotEqual(0, modinfoName);
        Assert.Equal(
            "2 sections are named .gnu.linkonce.this_module (sections 1, 2); a kernel module has exactly one",
            Malformed(bytes).Message);
    }

    [Fact]
    public void Rejects_32_bit_big_endian_wrong_type_and_wrong_machine()
    {
        var bytes = ModuleImage.Default();
        bytes[4] = 1;
        Assert.Equal("ELF class 1 (32-bit); kernel modules here are 64-bit", Malformed(bytes).Message);

        bytes = ModuleImage.Default();
        bytes[5] = 2;
        Assert.Equal("ELF data encoding 2 (big-endian); kernel modules here are little-endian", Malformed(bytes).Message);

        bytes = ModuleImage.Default();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(16), 3);
        Assert.Equal(
            "ELF type 3 (ET_DYN, a shared object or PIE executable) is not ET_REL (1): a kernel module is a relocatable object",
            Malformed(bytes).Message);

        var arm = new ModuleImage { Machine = 183 }.Build();
        Assert.Equal("e_machine 183 (aarch64) does not match this host (x86_64)", Malformed(arm).Message);
        Assert.Equal(ElfMachine.Arm64, KernelModule.Parse(arm, ElfMachine.Arm64).Machine);
    }

    [Theory]
    [InlineData(new byte[] { 0x1f, 0x8b, 8, 0 }, "gzip")]
    [InlineData(new byte[] { 0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0 }, "xz")]
    [InlineData(new byte[] { 0x28, 0xb5, 0x2f, 0xfd }, "zstd")]
    public void Names_a_compressed_module(byte[] start, string format)
    {
        var bytes = start.Concat(new byte[100]).ToArray();

        Assert.Contains($"which is {format}-compressed data; decompress the module first", Malformed(bytes).Message);
    }

    [Fact]
    public void Checks_the_section_header_table_against_the_file_size()
    {
        var bytes = ModuleImage.Default();
        var layout = Layout(out _);
        var cut = bytes[..(layout.SectionTableEnd - 1)];

        Assert.Equal(
            $"section header table at offset 0x{layout.SectionTableOffset:x} (64 x {layout.SectionCount} bytes) extends past the end of the file (0x{cut.Length:x} bytes)",
            Malformed(cut).Message);

        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(40), ulong.MaxValue - 10); // e_shoff near 2^64
        Assert.Contains("extends past the end of the file", Malformed(bytes).Message);
    }

    [Fact]
    public void Checks_e_shentsize_e_shnum_and_e_shstrndx()
    {
        var bytes = ModuleImage.Default();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(58), 40);
        Assert.Equal("e_shentsize is 40; ELF64 section headers are 64 bytes", Malformed(bytes).Message);

        bytes = ModuleImage.Default();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(60), 0);
        Assert.Equal("the ELF header lists no sections (e_shnum is 0)", Malformed(bytes).Message);

        bytes = ModuleImage.Default();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(62), 0xffff);
        Assert.Equal("e_shstrndx 65535 is not a section index: the file has 7 sections", Malformed(bytes).Message);
    }

    [Fact]
    public void Checks_every_section_against_the_file_size_without_overflow()
    {
        var bytes = ModuleImage.Default();
        var layout = Layout(out _);
        var header = layout.SectionHeaderOffset(3); // __versions
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(header + 24), 0x10);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(header + 32), ulong.MaxValue - 8); // offset + size wraps

        Assert.Equal(
            $"section 3 (__versions) at offset 0x10 ({ulong.MaxValue - 8} bytes) extends past the end of the file (0x{bytes.Length:x} bytes)",
            Malformed(bytes).Message);

        // SHT_NOBITS sections (.bss) occupy no file space; their offset and size are not file ranges.
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(header + 4), 8);
        Parse(bytes);
    }

    [Theory]
    [InlineData(1, 0u, "section 1 (.modinfo) has no contents (SHT_NULL)")]
    [InlineData(1, 8u, "section 1 (.modinfo) has no contents (SHT_NOBITS)")]
    [InlineData(2, 8u, "section 2 (.gnu.linkonce.this_module) has no contents (SHT_NOBITS); the kernel requires it to hold struct module")]
    public void A_section_without_file_contents_is_never_read_even_with_a_wild_offset(int index, uint type, string message)
    {
        // SHT_NULL and SHT_NOBITS sections are not bounds-checked, so their offset and size must not be used.
        var bytes = ModuleImage.Default();
        var header = Layout(out _).SectionHeaderOffset(index);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(header + 4), type);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(header + 24), ulong.MaxValue);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(header + 32), 0x7fff_ffff);

        Assert.Equal(message, Malformed(bytes).Message);
    }

    [Fact]
    public void Checks_the_section_name_table_and_section_zero()
    {
        var bytes = ModuleImage.Default();
        var layout = Layout(out _);
        var shstrtab = layout[".shstrtab"];
        bytes[shstrtab.End - 1] = (byte)'x';
        Assert.Equal(
            $"the section name table (section 6) at offset 0x{shstrtab.Offset:x} does not end with a NUL byte",
            Malformed(bytes).Message);

        bytes = ModuleImage.Default();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(layout.SectionHeaderOffset(2)), 100_000);
        Assert.Equal($"section 2's name offset 100000 is outside the section name table ({shstrtab.Size} bytes)", Malformed(bytes).Message);

        bytes = ModuleImage.Default();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(layout.SectionHeaderOffset(0) + 32), 5);
        Assert.Equal("section 0 must be the null section, but has type 0, size 5 and address 0x0", Malformed(bytes).Message);
    }

    [Fact]
    public void Bounds_are_checked_against_the_signed_image_not_the_whole_file()
    {
        var unsigned = ModuleImage.Default();
        var layout = Layout(out _);
        var signed = TestSigningKey.Trusted.Sign(unsigned);
        // Grow .shstrtab into the PKCS#7 message: inside the file, but past M.
        BinaryPrimitives.WriteUInt64LittleEndian(signed.AsSpan(layout.SectionHeaderOffset(6) + 32), (ulong)(unsigned.Length - layout[".shstrtab"].Offset + 8));

        Assert.Contains($"extends past the end of the module image (0x{unsigned.Length:x} bytes before the signature)", Malformed(signed).Message);
    }

    [Fact]
    public void Host_machine_follows_the_process_architecture()
    {
        Assert.Equal(ElfMachine.X64, ElfMachine.ForArchitecture(Architecture.X64));
        Assert.Equal(ElfMachine.Arm64, ElfMachine.ForArchitecture(Architecture.Arm64));
        Assert.Null(ElfMachine.ForArchitecture(Architecture.S390x));
        Assert.Equal(ElfMachine.ForArchitecture(RuntimeInformation.ProcessArchitecture), ElfMachine.Host);
        Assert.Equal("aarch64", ElfMachine.Arm64.Name);
        Assert.Equal("machine 9999", new ElfMachine(9999).Name);
    }

    [Fact]
    public void Sha256_is_of_the_whole_file()
    {
        var signed = TestSigningKey.Trusted.Sign(ModuleImage.Default());

        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(signed)), Parse(signed).ComputeSha256());
    }

    private static ModuleLayout Layout(out byte[] bytes)
    {
        bytes = new ModuleImage().Build(out var layout);
        return layout;
    }

    private static int FindSectionName(byte[] bytes, ModuleLayout layout, string name)
    {
        var shstrtab = layout[".shstrtab"];
        var index = bytes.AsSpan(shstrtab.Offset, shstrtab.Size).IndexOf(Encoding.ASCII.GetBytes(name + "\0"));
        return shstrtab.Offset + index;
    }
}

using System.Buffers.Binary;
using CsCheck;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Unit.Tests.Core.Modules;

/// <summary>
/// Hostile and damaged files: each must give a report whose first failure carries the expected catalogued reason,
/// and nothing may ever escape as an exception.
/// </summary>
public sealed class MalformedModuleTests
{
    private static readonly ErrorReason[] ModuleReasons =
    [
        ErrorReason.ModuleMalformed,
        ErrorReason.NotALivepatch,
        ErrorReason.KernelMismatch,
        ErrorReason.VermagicMismatch,
        ErrorReason.BuildIdMismatch,
        ErrorReason.UnsignedModule,
        ErrorReason.SignatureInvalid,
        ErrorReason.UntrustedSigner,
    ];

    private static readonly VerificationContext Context = ModuleVerifierTests.Context();

    private static VerificationCheck FirstFailure(byte[] file)
    {
        var report = ModuleVerifier.Verify(file, Context);
        Assert.All(report.Checks, c =>
        {
            Assert.Equal(c.Status == CheckStatus.Failed, c.Reason is not null);
            Assert.True(c.Reason is null || ModuleReasons.Contains(c.Reason), $"uncatalogued reason {c.Reason?.Code}");
        });
        Assert.NotNull(report.FirstFailure);
        return report.FirstFailure;
    }

    private static (byte[] Signed, int ImageLength, ModuleLayout Layout) SignedModule(bool sectionTableFirst)
    {
        var image = new ModuleImage { SectionTableFirst = sectionTableFirst }.Build(out var layout);
        return (TestSigningKey.Trusted.Sign(image), image.Length, layout);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncation_at_every_length_gives_the_reason_for_the_part_that_was_cut(bool sectionTableFirst)
    {
        var (signed, imageLength, layout) = SignedModule(sectionTableFirst);
        Assert.True(ModuleVerifier.Verify(signed, Context).Succeeded);

        for (var length = 0; length < signed.Length; length++)
        {
            var failure = FirstFailure(signed[..length]);
            var where = $"cut at {length}: {failure.Detail}";
            if (length >= imageLength)
            {
                // The marker is gone, so the file is an intact module followed by junk: unsigned, as the kernel sees it.
                Assert.True(ErrorReason.UnsignedModule == failure.Reason, where);
                continue;
            }

            Assert.True(ErrorReason.ModuleMalformed == failure.Reason, where);
            Assert.True(ExpectedTruncationMessage(length, layout) is var expected && failure.Detail.Contains(expected, StringComparison.Ordinal), $"{where}; expected \"{expected}\"");
        }
    }

    /// <summary>What the message must name for an image cut to <paramref name="length"/> bytes.</summary>
    private static string ExpectedTruncationMessage(int length, ModuleLayout layout)
    {
        if (length < 4)
        {
            return "too short to be an ELF file";
        }

        if (length < ModuleLayout.HeaderSize)
        {
            return $"the ELF header is truncated: the module image is {length} bytes";
        }

        if (length < layout.SectionTableEnd)
        {
            return $"section header table at offset 0x{layout.SectionTableOffset:x} (64 x {layout.SectionCount} bytes) extends past the end of the file (0x{length:x} bytes)";
        }

        // The name table is read first, then every section in index order: the first one not wholly in the file
        // is named.
        var names = layout[".shstrtab"];
        if (names.End > length)
        {
            return $"the section name table (section {names.Index}) at offset 0x{names.Offset:x}";
        }

        var cut = layout.Sections.Where(s => s.Index > 0).OrderBy(s => s.Index).First(s => s.End > length);
        return $"section {cut.Index} ({cut.Name}) at offset 0x{cut.Offset:x} ({cut.Size} bytes) extends past the end of the file (0x{length:x} bytes)";
    }

    [Fact]
    public void Cutting_bytes_out_of_the_trailer_before_the_marker_is_signature_invalid()
    {
        var (signed, imageLength, _) = SignedModule(false);
        var trailerLength = signed.Length - 28 - imageLength;

        for (var removed = 1; removed <= trailerLength; removed++)
        {
            byte[] file = [.. signed.AsSpan(0, signed.Length - 28 - removed), .. ModuleSignature.Marker];
            var failure = FirstFailure(file);
            Assert.True(ErrorReason.SignatureInvalid == failure.Reason, $"removed {removed}: {failure.Reason.Code}: {failure.Detail}");
        }
    }

    [Fact]
    public void Each_wrong_marker_byte_makes_the_module_unsigned()
    {
        var (signed, _, _) = SignedModule(false);
        for (var i = signed.Length - 28; i < signed.Length; i++)
        {
            var file = (byte[])signed.Clone();
            file[i] ^= 0x40;
            Assert.Equal(ErrorReason.UnsignedModule, FirstFailure(file).Reason);
        }
    }

    [Theory]
    [InlineData(-40)]
    [InlineData(-39)]
    [InlineData(0)]
    [InlineData(int.MaxValue)]
    [InlineData(-1)]
    public void A_sig_len_at_or_past_the_bound_is_signature_invalid(int relative)
    {
        var (signed, _, _) = SignedModule(false);
        var file = (byte[])signed.Clone();
        var sigLen = relative switch
        {
            int.MaxValue => 0x7fffffffu,
            -1 => 0xffffffffu,
            _ => (uint)(signed.Length + relative),
        };
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(file.Length - 40 + 8), sigLen);

        var failure = FirstFailure(file);

        Assert.Equal(ErrorReason.SignatureInvalid, failure.Reason);
        Assert.Contains($"sig_len is {sigLen} bytes", failure.Detail);
    }

    [Fact]
    public void A_smaller_sig_len_moves_m_into_the_module_and_is_caught()
    {
        var (signed, imageLength, _) = SignedModule(false);
        var pkcs7Length = signed.Length - 40 - imageLength;
        foreach (var delta in new[] { -1, 1, 64 })
        {
            var file = (byte[])signed.Clone();
            BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(file.Length - 40 + 8), (uint)(pkcs7Length + delta));
            var reason = FirstFailure(file).Reason;
            // Longer: the section table is cut off; shorter: the DER is misaligned.
            Assert.True(reason == ErrorReason.ModuleMalformed || reason == ErrorReason.SignatureInvalid, reason!.Code);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(27)]
    [InlineData(28)]
    [InlineData(40)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(100_000)]
    public void Garbage_is_module_malformed(int length)
    {
        var random = new Random(length);
        var garbage = new byte[length];
        random.NextBytes(garbage);
        Assert.Equal(ErrorReason.ModuleMalformed, FirstFailure(garbage).Reason);

        // Garbage dressed up as ELF and as a signed file.
        if (length >= 64)
        {
            "\x7f"u8.CopyTo(garbage);
            "ELF"u8.CopyTo(garbage.AsSpan(1));
            garbage[4] = 2;
            garbage[5] = 1;
            BinaryPrimitives.WriteUInt16LittleEndian(garbage.AsSpan(16), 1);
            BinaryPrimitives.WriteUInt16LittleEndian(garbage.AsSpan(18), 62);
            BinaryPrimitives.WriteUInt16LittleEndian(garbage.AsSpan(58), 64);
            Assert.Equal(ErrorReason.ModuleMalformed, FirstFailure(garbage).Reason);
        }

        byte[] withMarker = [.. garbage, .. ModuleSignature.Marker];
        Assert.Equal(ErrorReason.ModuleMalformed, FirstFailure(withMarker).Reason);
    }

    [Theory]
    [InlineData(4)] // EI_CLASS
    [InlineData(5)] // EI_DATA
    [InlineData(16)] // e_type
    [InlineData(18)] // e_machine
    [InlineData(40)] // e_shoff
    [InlineData(58)] // e_shentsize
    [InlineData(60)] // e_shnum
    [InlineData(62)] // e_shstrndx
    public void Extreme_header_fields_are_module_malformed(int offset)
    {
        foreach (var value in new ulong[] { 0, 1, 0xff, 0xffff, 0x7fff_ffff, ulong.MaxValue })
        {
            var original = ModuleImage.Default();
            var bytes = (byte[])original.Clone();
            var width = offset switch { 4 or 5 => 1, 40 => 8, _ => 2 };
            for (var i = 0; i < width; i++)
            {
                bytes[offset + i] = (byte)(value >> (8 * i));
            }

            var elf = ModuleVerifier.Verify(bytes, Context).Checks[0];
            if (bytes.AsSpan().SequenceEqual(original))
            {
                Assert.Equal(CheckStatus.Passed, elf.Status);
            }
            else
            {
                Assert.True(ErrorReason.ModuleMalformed == elf.Reason, $"offset {offset} = {value}: {elf.Detail}");
            }
        }
    }

    [Fact]
    public void Random_mutations_of_valid_modules_give_a_catalogued_reason_and_never_throw()
    {
        var (signed, imageLength, layout) = SignedModule(false);
        var (signedTableFirst, _, _) = SignedModule(true);
        var unsigned = ModuleImage.Default();
        byte[][] bases = [signed, signedTableFirst, unsigned];
        var pkcs7Start = imageLength;
        var pkcs7End = signed.Length - 40;

        // Places worth aiming at: header fields, section header fields, the trailer's struct.
        var targets = new List<int> { 4, 5, 16, 18, 40, 58, 60, 62 };
        for (var i = 0; i < layout.SectionCount; i++)
        {
            targets.AddRange(new[] { 0, 4, 8, 24, 32, 40 }.Select(field => layout.SectionHeaderOffset(i) + field));
        }

        var gen = Gen.Select(Gen.Int[0, bases.Length - 1], Gen.Int[0, 6], Gen.Int, Gen.ULong, Gen.Int[1, 64]);
        Check.Sample(gen, t =>
        {
            var (which, kind, position, value, count) = t;
            var original = bases[which];
            var file = Mutate(original, kind, position, value, count, targets);
            var report = ModuleVerifier.Verify(file, Context);

            Assert.All(report.Checks, c => Assert.True(c.Reason is null || ModuleReasons.Contains(c.Reason), c.Reason?.Code));
            // A signed module changed anywhere but inside the PKCS#7 message must never pass: the signature
            // covers [0, M), and the struct and marker decide where M is.
            if (which == 0 && report.Succeeded && !file.AsSpan().SequenceEqual(original))
            {
                Assert.Equal(original.Length, file.Length);
                for (var i = 0; i < file.Length; i++)
                {
                    Assert.True(file[i] == original[i] || (i >= pkcs7Start && i < pkcs7End), $"byte {i} changed and the module still passed");
                }
            }
        }, iter: 2000);
    }

    [Fact]
    public void Random_damage_inside_the_pkcs7_message_is_a_signature_failure_never_an_exception()
    {
        var (signed, imageLength, _) = SignedModule(false);
        var pkcs7Length = signed.Length - 40 - imageLength;

        var gen = Gen.Select(Gen.Int[0, pkcs7Length - 1], Gen.Byte[1, 255], Gen.Int[1, 4]);
        Check.Sample(gen, t =>
        {
            var (at, xor, count) = t;
            var file = (byte[])signed.Clone();
            for (var i = 0; i < count; i++)
            {
                file[imageLength + ((at + (i * 7)) % pkcs7Length)] ^= xor;
            }

            var signature = ModuleVerifier.Verify(file, Context).Checks.Single(c => c.Name == VerificationCheck.Signature);

            // Some bytes are not covered by the signature (e.g. the version numbers); changing them may still verify.
            Assert.True(
                signature.Status == CheckStatus.Passed
                    || signature.Reason == ErrorReason.SignatureInvalid
                    || signature.Reason == ErrorReason.UntrustedSigner,
                $"{signature.Status} {signature.Reason?.Code}: {signature.Detail}");
        }, iter: 1000);
    }

    private static byte[] Mutate(byte[] original, int kind, int position, ulong value, int count, List<int> targets)
    {
        var file = (byte[])original.Clone();
        var at = (int)((uint)position % (uint)file.Length);
        switch (kind)
        {
            case 0: // flip bytes
                var random = new Random(position);
                for (var i = 0; i < count; i++)
                {
                    file[random.Next(file.Length)] ^= (byte)random.Next(1, 256);
                }

                return file;
            case 1: // truncate
                return file[..at];
            case 2: // overwrite a header or section header field, often with a small value (a type, an index)
                var target = targets[(int)((uint)position % (uint)targets.Count)];
                value = (value & 3) == 0 ? (value >> 2) % 16 : value;
                var width = Math.Min(8, file.Length - target);
                for (var i = 0; i < width; i++)
                {
                    file[target + i] = (byte)(value >> (8 * i));
                }

                return file;
            case 3: // extend with random bytes
                var tail = new byte[count];
                new Random(position).NextBytes(tail);
                return [.. file, .. tail];
            case 4: // the trailer's struct: id_type, pad or sig_len
                var info = file.Length - 40;
                if (info < 0)
                {
                    return file;
                }

                if ((value & 1) == 0)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(info + 8), (uint)(value >> 1));
                }
                else
                {
                    file[info + (int)((value >> 1) % 8)] = (byte)(value >> 8);
                }

                return file;
            case 5: // splice: drop a run of bytes
                var length = Math.Min(count, file.Length - at);
                return [.. file.AsSpan(0, at), .. file.AsSpan(at + length)];
            default: // duplicate a run of bytes in place (shifts everything after it)
                var run = Math.Min(count, file.Length - at);
                return [.. file.AsSpan(0, at + run), .. file.AsSpan(at)];
        }
    }
}

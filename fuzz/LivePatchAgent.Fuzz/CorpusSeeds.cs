using System.Buffers.Binary;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Fuzz;

/// <summary>
/// Writes the seed corpus (<c>fuzz/corpus</c>): small valid modules from the unit tests' builder and the real
/// sign-file fixture, then truncated and mutated variants that start AFL past the first checks. The generated
/// signing keys are new on every run, so a regenerated corpus differs in those bytes only.
/// </summary>
internal static class CorpusSeeds
{
    private const int TrailerLength = 40;

    public static void Write(string directory, string fixture)
    {
        var image = File.ReadAllBytes(Path.Combine(fixture, ParserTargets.FixtureImage));
        var realSigned = File.ReadAllBytes(Path.Combine(fixture, "lpdemo_v1.signed.ko"));
        var realPkcs7 = realSigned[image.Length..^TrailerLength];

        var module = Path.Combine(directory, ParserTargets.Module);
        Directory.CreateDirectory(module);
        foreach (var (name, bytes) in ModuleSeeds(realSigned))
        {
            File.WriteAllBytes(Path.Combine(module, name), bytes);
        }

        var signature = Path.Combine(directory, ParserTargets.Signature);
        Directory.CreateDirectory(signature);
        foreach (var (name, bytes) in SignatureSeeds(image, realPkcs7))
        {
            File.WriteAllBytes(Path.Combine(signature, name), bytes);
        }
    }

    private static IEnumerable<(string Name, byte[] Bytes)> ModuleSeeds(byte[] realSigned)
    {
        var plain = new ModuleImage().Build(out var layout);
        var signed = TestSigningKey.Trusted.Sign(plain);
        yield return ("valid.ko", plain);
        yield return ("valid-table-first.ko", new ModuleImage { SectionTableFirst = true }.Build());
        yield return ("valid-modinfo-padding.ko", new ModuleImage { ModInfoPadding = 3, WithVersions = false }.Build());
        yield return ("not-a-livepatch.ko", new ModuleImage().Without("livepatch").Without("vermagic").Build());
        yield return ("signed.ko", signed);
        yield return ("signed-ski.ko", TestSigningKey.Trusted.Sign(plain, SubjectIdentifierType.SubjectKeyIdentifier));
        yield return ("real-sign-file.ko", realSigned);

        yield return ("cut-in-header.ko", plain[..40]);
        yield return ("cut-in-section-table.ko", plain[..(layout.SectionTableOffset + 100)]);
        yield return ("cut-in-trailer.ko", signed[..^10]);
        yield return ("no-this-module.ko", new ModuleImage { WithThisModule = false }.Build());
        yield return ("no-symtab.ko", new ModuleImage { WithSymbolTable = false }.Build());
        yield return ("modinfo-name-differs.ko", new ModuleImage { StructModuleName = "other_name" }.Build());
        yield return ("shstrndx-out-of-range.ko", Patched(plain, 62, 0xff, 2));
        yield return ("section-offset-past-end.ko", Patched(plain, layout.SectionHeaderOffset(1) + 24, 0xffff_ff00, 8));
        yield return ("sig-len-too-large.ko", PatchedBigEndian(signed, signed.Length - TrailerLength + 8, uint.MaxValue));
        yield return ("sig-id-type-x509.ko", Patched(signed, signed.Length - TrailerLength + 2, 1, 1));
        yield return ("marker-only.ko", [.. ModuleSignature.Marker]);
    }

    private static IEnumerable<(string Name, byte[] Bytes)> SignatureSeeds(byte[] image, byte[] realPkcs7)
    {
        var key = TestSigningKey.Trusted;
        yield return ("real-sign-file.p7", realPkcs7);
        yield return ("real-bad-signature.p7", Patched(realPkcs7, realPkcs7.Length - 1, realPkcs7[^1] ^ 0x5a, 1));
        yield return ("real-cut.p7", realPkcs7[..(realPkcs7.Length / 2)]);
        yield return ("other-key.p7", key.SignDetached(image));
        yield return ("other-key-ski.p7", key.SignDetached(image, SubjectIdentifierType.SubjectKeyIdentifier));
        yield return ("other-key-sha512.p7", key.SignDetached(image, digestOid: "2.16.840.1.101.3.4.2.3"));
        yield return ("other-key-with-certificate.p7", key.SignDetached(image, includeCertificates: X509IncludeOption.EndCertOnly));
        yield return ("ecdsa.p7", TestSigningKey.Ecdsa.SignDetached(image));
        yield return ("attached-content.p7", Attached(key, "not a module"u8.ToArray()));
        yield return ("der-sequence-only.p7", [0x30, 0x00]);
    }

    private static byte[] Attached(TestSigningKey key, byte[] content)
    {
        var cms = new SignedCms(new ContentInfo(content), detached: false);
        cms.ComputeSignature(new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, key.Certificate) { IncludeOption = X509IncludeOption.None });
        return cms.Encode();
    }

    /// <summary>A copy with <paramref name="width"/> little-endian bytes of <paramref name="value"/> at <paramref name="offset"/>.</summary>
    private static byte[] Patched(byte[] bytes, int offset, long value, int width)
    {
        var copy = (byte[])bytes.Clone();
        for (var i = 0; i < width; i++)
        {
            copy[offset + i] = (byte)(value >> (8 * i));
        }

        return copy;
    }

    private static byte[] PatchedBigEndian(byte[] bytes, int offset, uint value)
    {
        var copy = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(offset), value);
        return copy;
    }
}

using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using CsCheck;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Fuzz;

namespace LivePatchAgent.Unit.Tests.Core.Modules;

/// <summary>
/// The fuzz corpus (<c>fuzz/corpus</c>: the seeds and what afl-fuzz found, docs/testing.md "Fuzzing") as a
/// regression suite: every file goes through both parsers under the fuzz targets' contract, which throws on any
/// exception other than a catalogued rejection and on a rejection whose reason or message is not specific.
/// </summary>
public sealed class FuzzCorpusTests
{
    private static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "FuzzCorpus");
    private static readonly string Fixture = TestData.Directory;
    private static readonly ParserTargets Targets = ParserTargets.Load(Fixture);

    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var file in Directory.EnumerateFiles(Corpus, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            foreach (var parser in ParserTargets.Names)
            {
                data.Add(parser, Path.GetRelativePath(Corpus, file));
            }
        }

        return data;
    }

    private static ParseOutcome Replay(string parser, string name) => Targets.Run(parser, File.ReadAllBytes(Path.Combine(Corpus, name)));

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Every_corpus_file_is_accepted_or_rejected_with_a_specific_reason(string parser, string name)
    {
        var outcome = Replay(parser, name);

        Assert.True(outcome.IsAccepted || outcome.Reason!.Category != ErrorCategory.Internal, $"{parser} {name}: {outcome}");
    }

    [Fact]
    public void The_corpus_covers_both_targets_and_stays_small()
    {
        foreach (var target in ParserTargets.Names)
        {
            Assert.True(Directory.EnumerateFiles(Path.Combine(Corpus, target)).Count() >= 5, $"fuzz/corpus/{target} has almost no seeds");
        }

        var bytes = Directory.EnumerateFiles(Corpus, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.InRange(bytes, 1, 1 << 20);
    }

    [Theory]
    [InlineData("module/real-sign-file.ko", null)]
    [InlineData("module/valid.ko", null)]
    [InlineData("module/cut-in-section-table.ko", "module-malformed")]
    [InlineData("module/sig-len-too-large.ko", "signature-invalid")]
    public void Module_seeds_reach_acceptance_and_each_kind_of_rejection(string name, string? reason) =>
        Assert.Equal(reason, Replay(ParserTargets.Module, name).Reason?.Code);

    [Theory]
    [InlineData("signature/real-sign-file.p7", null)]
    [InlineData("signature/real-bad-signature.p7", "signature-invalid")]
    [InlineData("signature/other-key.p7", "untrusted-signer")]
    [InlineData("signature/attached-content.p7", "signature-invalid")]
    public void Signature_seeds_reach_acceptance_and_each_kind_of_rejection(string name, string? reason) =>
        Assert.Equal(reason, Replay(ParserTargets.Signature, name).Reason?.Code);

    /// <summary>
    /// Structure-aware, where afl-fuzz and the byte-level property tests flip bytes: well-formed DER in the shape of
    /// a CMS SignedData with random versions, algorithms, signer identifiers (half of them naming the trusted
    /// certificate, so the signature check itself runs), attributes, certificates and signature bytes, some cut short.
    /// </summary>
    [Fact]
    public void Generated_cms_structures_are_rejected_with_a_signature_reason_never_an_exception()
    {
        var certificate = X509CertificateLoader.LoadCertificate(
            Convert.FromBase64String(File.ReadAllText(Path.Combine(Fixture, ParserTargets.FixtureCertificate))
                .Replace("-----BEGIN CERTIFICATE-----", "", StringComparison.Ordinal)
                .Replace("-----END CERTIFICATE-----", "", StringComparison.Ordinal)));
        string[] digests = ["2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.3", "2.16.840.1.101.3.4.2.4", "1.3.14.3.2.26", "1.2.3.4"];
        string[] signatureAlgorithms = ["1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11", "1.2.840.10045.4.3.2", "1.2.840.113549.1.1.10", "1.2.3"];
        string[] contentTypes = ["1.2.840.113549.1.7.2", "1.2.840.113549.1.7.1", "1.2.840.113549.1.7.3"];

        var gen = Gen.Select(
            Gen.Int[0, contentTypes.Length - 1], Gen.Int[0, 5], Gen.Int[0, digests.Length - 1], Gen.Int[0, signatureAlgorithms.Length - 1],
            Gen.Int[0, 3], Gen.Bool, Gen.Byte.Array[0, 300], Gen.Int[0, 100]);
        Check.Sample(gen, t =>
        {
            var (contentType, version, digest, algorithm, identifier, withAttributes, signature, cutPercent) = t;
            var writer = new AsnWriter(AsnEncodingRules.DER);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(contentTypes[contentType]);
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0)))
                using (writer.PushSequence())
                {
                    writer.WriteInteger(version);
                    using (writer.PushSetOf())
                    {
                        WriteAlgorithm(writer, digests[digest]);
                    }

                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier("1.2.840.113549.1.7.1");
                    }

                    using (writer.PushSetOf())
                    using (writer.PushSequence())
                    {
                        writer.WriteInteger(identifier == 1 ? 3 : version);
                        WriteSignerIdentifier(writer, identifier, certificate);
                        WriteAlgorithm(writer, digests[digest]);
                        if (withAttributes)
                        {
                            using var attributes = writer.PushSetOf(new Asn1Tag(TagClass.ContextSpecific, 0));
                            using var attribute = writer.PushSequence();
                            writer.WriteObjectIdentifier("1.2.840.113549.1.9.3");
                            using var values = writer.PushSetOf();
                            writer.WriteObjectIdentifier("1.2.840.113549.1.7.1");
                        }

                        WriteAlgorithm(writer, signatureAlgorithms[algorithm]);
                        writer.WriteOctetString(signature);
                    }
                }
            }

            var der = writer.Encode();
            var pkcs7 = der[..Math.Max(1, der.Length * (100 - (cutPercent % 20 == 0 ? cutPercent : 0)) / 100)];

            var outcome = Targets.VerifySignature(pkcs7);

            Assert.False(outcome.IsAccepted, "a generated signature verified");
            Assert.True(outcome.Reason == ErrorReason.SignatureInvalid || outcome.Reason == ErrorReason.UntrustedSigner, outcome.ToString());
        }, iter: 500);
    }

    private static void WriteAlgorithm(AsnWriter writer, string oid)
    {
        using var sequence = writer.PushSequence();
        writer.WriteObjectIdentifier(oid);
        writer.WriteNull();
    }

    /// <summary>0: the trusted certificate's issuer and serial; 1: a subject key identifier; 2: a stranger; 3: junk.</summary>
    private static void WriteSignerIdentifier(AsnWriter writer, int kind, X509Certificate2 trusted)
    {
        switch (kind)
        {
            case 0 or 2:
                using (writer.PushSequence())
                {
                    writer.WriteEncodedValue(kind == 0 ? trusted.IssuerName.RawData : new X500DistinguishedName("CN=stranger").RawData);
                    writer.WriteInteger(kind == 0 ? trusted.SerialNumberBytes.Span : [0x01, 0x02]);
                }

                break;
            case 1:
                writer.WriteOctetString(new byte[20], new Asn1Tag(TagClass.ContextSpecific, 0));
                break;
            default:
                writer.WriteBoolean(true);
                break;
        }
    }
}

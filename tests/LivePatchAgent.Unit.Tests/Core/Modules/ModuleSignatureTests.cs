using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Unit.Tests.Core.Modules;

public sealed class ModuleSignatureTests
{
    private static readonly byte[] Module = ModuleImage.Default();

    private static ModuleSignature SignatureOf(byte[] file)
    {
        var trailer = ModuleSignature.ReadTrailer(file);
        Assert.Equal(SignatureState.Present, trailer.State);
        return trailer.Signature!;
    }

    private static AgentException VerifyFails(byte[] file, TrustedCertificates trusted, ErrorReason reason)
    {
        var error = Assert.Throws<AgentException>(() => SignatureOf(file).Verify(trusted));
        Assert.Equal(reason, error.Reason);
        return error;
    }

    [Fact]
    public void The_test_signer_produces_sign_files_cms_shape()
    {
        var key = TestSigningKey.Trusted;
        foreach (var identifier in new[] { SubjectIdentifierType.IssuerAndSerialNumber, SubjectIdentifierType.SubjectKeyIdentifier })
        {
            var cms = new SignedCms(new ContentInfo(Module), detached: true);
            cms.Decode(key.SignDetached(Module, identifier));

            Assert.Empty(cms.Certificates);
            var signer = Assert.Single(cms.SignerInfos.Cast<SignerInfo>());
            Assert.Empty(signer.SignedAttributes);
            Assert.Equal(identifier, signer.SignerIdentifier.Type);
            var attached = new SignedCms();
            attached.Decode(key.SignDetached(Module, identifier));
            Assert.Empty(attached.ContentInfo.Content);
        }
    }

    [Fact]
    public void Splits_the_trailer_where_sign_file_put_it()
    {
        var pkcs7 = TestSigningKey.Trusted.SignDetached(Module);
        var file = TestSigningKey.AppendSignature(Module, pkcs7);

        var signature = SignatureOf(file);

        Assert.Equal(Module.Length, signature.SignedLength);
        Assert.Equal(Module, signature.SignedContent.ToArray());
        Assert.Equal(pkcs7, signature.Pkcs7.ToArray());
        Assert.Equal(file.Length, Module.Length + pkcs7.Length + 40);
    }

    [Fact]
    public void A_trusted_issuer_and_serial_signature_reports_signer_key_id_and_digest()
    {
        var key = TestSigningKey.Trusted;

        var signer = SignatureOf(key.Sign(Module)).Verify(key.AsTrusted());

        Assert.Equal("LivePatchAgent unit test trusted key", signer.Name);
        Assert.Equal(key.Certificate.Subject, signer.Subject);
        Assert.Equal(key.Certificate.SerialNumber.ToLowerInvariant(), signer.KeyId);
        Assert.Equal(SignerKeyIdKind.IssuerAndSerialNumber, signer.KeyIdKind);
        Assert.Equal("sha256", signer.DigestAlgorithm);
        Assert.Equal("signer.pem", signer.CertificateSource);
    }

    [Fact]
    public void A_subject_key_identifier_signature_is_matched_by_key_identifier()
    {
        var key = TestSigningKey.Trusted;

        var signer = SignatureOf(key.Sign(Module, SubjectIdentifierType.SubjectKeyIdentifier)).Verify(key.AsTrusted());

        var ski = key.Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifier!;
        Assert.Equal(ski.ToLowerInvariant(), signer.KeyId);
        Assert.Equal(SignerKeyIdKind.SubjectKeyIdentifier, signer.KeyIdKind);
        Assert.Equal("LivePatchAgent unit test trusted key", signer.Name);
    }

    [Theory]
    [InlineData("2.16.840.1.101.3.4.2.2", "sha384")]
    [InlineData("2.16.840.1.101.3.4.2.3", "sha512")]
    public void Reports_other_digest_algorithms_by_name(string oid, string name)
    {
        var key = TestSigningKey.Trusted;
        var file = TestSigningKey.AppendSignature(Module, key.SignDetached(Module, digestOid: oid));

        Assert.Equal(name, SignatureOf(file).Verify(key.AsTrusted()).DigestAlgorithm);
    }

    [Fact]
    public void A_digest_this_platform_cannot_compute_is_named()
    {
        // .NET has no SHA-224, which CONFIG_MODULE_SIG_SHA224 kernels use: turn the sha256 OID into sha224's.
        var key = TestSigningKey.Trusted;
        var pkcs7 = key.SignDetached(Module);
        byte[] sha256Oid = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
        for (var at = pkcs7.AsSpan().IndexOf(sha256Oid); at >= 0; at = pkcs7.AsSpan().IndexOf(sha256Oid))
        {
            pkcs7[at + sha256Oid.Length - 1] = 0x04;
        }

        var error = VerifyFails(TestSigningKey.AppendSignature(Module, pkcs7), key.AsTrusted(), ErrorReason.SignatureInvalid);

        Assert.Equal(
            "the signature uses the digest algorithm sha224, which livepatchd cannot compute here; sign the module with sha256, sha384 or sha512",
            error.Message);
    }

    [Fact]
    public void An_ecdsa_signature_verifies()
    {
        var key = TestSigningKey.Ecdsa;

        Assert.Equal("LivePatchAgent unit test ECDSA key", SignatureOf(key.Sign(Module)).Verify(key.AsTrusted()).Name);
    }

    [Fact]
    public void Signed_attributes_are_accepted_too()
    {
        // Newer sign-file variants and other signers may add signed attributes; the kernel accepts both forms.
        var key = TestSigningKey.Trusted;
        var cms = new SignedCms(new ContentInfo(Module), detached: true);
        var signer = new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, key.Certificate) { IncludeOption = X509IncludeOption.None };
        signer.SignedAttributes.Add(new Pkcs9SigningTime());
        cms.ComputeSignature(signer);

        var file = TestSigningKey.AppendSignature(Module, cms.Encode());

        Assert.Equal("sha256", SignatureOf(file).Verify(key.AsTrusted()).DigestAlgorithm);
    }

    [Fact]
    public void An_unknown_signer_is_untrusted_and_still_described()
    {
        var file = TestSigningKey.Untrusted.Sign(Module);

        var error = VerifyFails(file, TestSigningKey.Trusted.AsTrusted(), ErrorReason.UntrustedSigner);

        Assert.Contains("LivePatchAgent unit test untrusted key", error.Message);
        Assert.Contains($"serial {TestSigningKey.Untrusted.Certificate.SerialNumber.ToLowerInvariant()}", error.Message);
        Assert.Contains("matches none of the 1 trusted certificates", error.Message);
        VerifyFails(file, TrustedCertificates.Empty, ErrorReason.UntrustedSigner);
    }

    [Fact]
    public void A_module_altered_after_signing_is_signature_invalid()
    {
        var file = TestSigningKey.Trusted.Sign(Module);
        new ModuleImage().Build(out var layout);
        file[layout[".modinfo"].Offset + 3] ^= 0x20;

        var error = VerifyFails(file, TestSigningKey.Trusted.AsTrusted(), ErrorReason.SignatureInvalid);

        Assert.Contains("does not verify against the module's contents", error.Message);
        Assert.Contains("altered after signing", error.Message);
    }

    [Fact]
    public void An_altered_signature_value_is_signature_invalid()
    {
        var file = TestSigningKey.Trusted.Sign(Module);
        file[file.Length - 40 - 5] ^= 0x01; // inside the RSA signature, the last field of the DER

        VerifyFails(file, TestSigningKey.Trusted.AsTrusted(), ErrorReason.SignatureInvalid);
    }

    [Fact]
    public void Undecodable_pkcs7_is_signature_invalid_naming_where_it_is()
    {
        var garbage = new byte[300];
        new Random(7).NextBytes(garbage);
        var file = TestSigningKey.AppendSignature(Module, garbage);

        var error = VerifyFails(file, TestSigningKey.Trusted.AsTrusted(), ErrorReason.SignatureInvalid);

        Assert.StartsWith($"the PKCS#7 signature (300 bytes at offset 0x{Module.Length:x}) cannot be decoded: ", error.Message);
    }

    [Fact]
    public void A_certificate_embedded_in_the_signature_is_never_trusted()
    {
        // An attacker's certificate that copies the trusted certificate's issuer and serial number, embedded in
        // the message: SignerInfo.CheckSignature would prefer it over the trusted one if it were left in.
        var trusted = TestSigningKey.Trusted.Certificate;
        using var attackerKey = RSA.Create(2048);
        var request = new CertificateRequest(trusted.SubjectName, attackerKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var forged = request.Create(
            trusted.IssuerName, X509SignatureGenerator.CreateForRSA(attackerKey, RSASignaturePadding.Pkcs1),
            DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), trusted.SerialNumberBytes.ToArray());
        using var forgedWithKey = forged.CopyWithPrivateKey(attackerKey);
        var cms = new SignedCms(new ContentInfo(Module), detached: true);
        cms.ComputeSignature(new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, forgedWithKey) { IncludeOption = X509IncludeOption.EndCertOnly });
        var file = TestSigningKey.AppendSignature(Module, cms.Encode());

        // Matched by issuer and serial to the trusted certificate, whose key did not make this signature.
        var error = VerifyFails(file, TestSigningKey.Trusted.AsTrusted(), ErrorReason.SignatureInvalid);
        Assert.Contains("does not verify against the module's contents", error.Message);
    }

    [Fact]
    public void A_genuine_signature_that_embeds_its_certificate_still_verifies_against_the_trusted_one()
    {
        var key = TestSigningKey.Trusted;
        var file = TestSigningKey.AppendSignature(Module, key.SignDetached(Module, includeCertificates: X509IncludeOption.EndCertOnly));

        Assert.Equal("signer.pem", SignatureOf(file).Verify(key.AsTrusted()).CertificateSource);
    }

    [Fact]
    public void Attached_content_and_several_signers_are_refused()
    {
        var key = TestSigningKey.Trusted;
        var attached = new SignedCms(new ContentInfo(Module), detached: false);
        attached.ComputeSignature(new CmsSigner(key.Certificate) { IncludeOption = X509IncludeOption.None });
        var error = VerifyFails(TestSigningKey.AppendSignature(Module, attached.Encode()), key.AsTrusted(), ErrorReason.SignatureInvalid);
        Assert.Contains($"embeds {Module.Length} bytes of content", error.Message);

        var twice = new SignedCms(new ContentInfo(Module), detached: true);
        twice.ComputeSignature(new CmsSigner(key.Certificate) { IncludeOption = X509IncludeOption.None });
        twice.ComputeSignature(new CmsSigner(TestSigningKey.Untrusted.Certificate) { IncludeOption = X509IncludeOption.None });
        error = VerifyFails(TestSigningKey.AppendSignature(Module, twice.Encode()), key.AsTrusted(), ErrorReason.SignatureInvalid);
        Assert.Contains("has 2 signers; sign-file writes exactly one", error.Message);
    }

    [Fact]
    public void No_marker_means_unsigned_and_a_wrong_marker_too()
    {
        Assert.Equal(new SignatureTrailer(SignatureState.Absent, Module.Length, null, null), ModuleSignature.ReadTrailer(Module));

        var file = TestSigningKey.Trusted.Sign(Module);
        file[^2] = (byte)'!';
        var trailer = ModuleSignature.ReadTrailer(file);
        Assert.Equal(SignatureState.Absent, trailer.State);
        Assert.Equal(file.Length, trailer.SignedLength);
    }

    [Theory]
    [InlineData(0xffffffffu)]
    [InlineData(0x7fffffffu)]
    public void A_huge_sig_len_is_malformed(uint sigLen)
    {
        var pkcs7 = TestSigningKey.Trusted.SignDetached(Module);
        var file = TestSigningKey.AppendSignature(Module, pkcs7, sigLen: sigLen);

        var trailer = ModuleSignature.ReadTrailer(file);

        Assert.Equal(SignatureState.Malformed, trailer.State);
        Assert.Null(trailer.Signature);
        Assert.Equal(file.Length - 28, trailer.SignedLength);
        Assert.Equal(
            $"the signature trailer's sig_len is {sigLen} bytes, but only {file.Length - 40} bytes precede the 40-byte trailer; the file is truncated or the trailer is corrupt",
            trailer.Problem);
    }

    [Fact]
    public void Sig_len_follows_the_kernels_bound_exactly()
    {
        // mod_check_sig: sig_len must be below the file length minus marker and struct, so M is at least 1.
        var body = new byte[100];
        var atBound = TestSigningKey.AppendSignature([], body, sigLen: 100);
        Assert.Equal(SignatureState.Malformed, ModuleSignature.ReadTrailer(atBound).State);

        var justBelow = TestSigningKey.AppendSignature([0x7f], body, sigLen: 100);
        var trailer = ModuleSignature.ReadTrailer(justBelow);
        Assert.Equal(SignatureState.Present, trailer.State);
        Assert.Equal(1, trailer.SignedLength);
    }

    [Theory]
    [InlineData(1, "the signature trailer's id_type is 1 (X.509, the format before kernel 4.3); the kernel only accepts 2 (PKCS#7)")]
    [InlineData(0, "the signature trailer's id_type is 0 (PGP)")]
    [InlineData(7, "the signature trailer's id_type is 7; the kernel only accepts 2")]
    public void A_wrong_id_type_is_malformed(byte idType, string message)
    {
        var file = TestSigningKey.AppendSignature(Module, TestSigningKey.Trusted.SignDetached(Module), idType: idType);

        var trailer = ModuleSignature.ReadTrailer(file);

        Assert.Equal(SignatureState.Malformed, trailer.State);
        Assert.StartsWith(message, trailer.Problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(7)]
    public void Non_zero_reserved_fields_are_malformed(int field)
    {
        var fields = new byte[8];
        fields[field] = 9;
        var file = TestSigningKey.AppendSignature(Module, TestSigningKey.Trusted.SignDetached(Module), otherFields: fields);

        var trailer = ModuleSignature.ReadTrailer(file);

        Assert.Equal(SignatureState.Malformed, trailer.State);
        Assert.StartsWith("the signature trailer has unexpected non-zero fields", trailer.Problem);
    }

    [Fact]
    public void A_zero_sig_len_and_a_trailer_without_room_are_malformed()
    {
        Assert.Equal(
            "the signature trailer's sig_len is 0: there is no PKCS#7 message",
            ModuleSignature.ReadTrailer(TestSigningKey.AppendSignature(Module, [], sigLen: 0)).Problem);

        for (var length = 28; length <= 40; length++)
        {
            var file = new byte[length];
            ModuleSignature.Marker.CopyTo(file.AsSpan(length - 28));
            var trailer = ModuleSignature.ReadTrailer(file);
            Assert.Equal(SignatureState.Malformed, trailer.State);
            Assert.InRange(trailer.SignedLength, 0, length);
        }
    }

    [Fact]
    public void Verify_reads_sig_len_as_big_endian()
    {
        var file = TestSigningKey.Trusted.Sign(Module);
        var sigLen = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(file.Length - 40 + 8));

        Assert.Equal((uint)(file.Length - Module.Length - 40), sigLen);
        Assert.Equal(Module.Length, SignatureOf(file).SignedLength);
    }
}

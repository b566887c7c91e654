using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Unit.Tests.Core.Modules;

/// <summary>Modules built by kbuild and signed by the kernel's own scripts/sign-file (see TestData/README.md).</summary>
public sealed class RealSignFileTests
{
    private const string Release = "6.1.0-56-amd64";
    private const string TrustedSerial = "7c030aca0574d6938d102ca9ab5c90017485f6d9";
    private const string TrustedSubjectKeyIdentifier = "99c45314692afa833dfaf26bd9b13f2b84e68a37";

    private static byte[] Read(string name) => TestData.Read(name);

    private static TrustedCertificates Trust(params string[] names) =>
        TrustedCertificates.FromFiles(names.Select(n => new CertificateFile(n, Read(n))));

    private static VerificationContext Context(TrustedCertificates? trusted = null) =>
        new(Release, ElfMachine.X64, trusted ?? Trust("trusted.pem"))
        {
            ReferenceVermagic = $"{Release} SMP preempt mod_unload modversions ",
        };

    private static VerificationReport Verify(string name, VerificationContext? context = null) =>
        ModuleVerifier.Verify(Read(name), context ?? Context());

    [Fact]
    public void A_sign_file_signed_livepatch_verifies_with_signer_key_id_and_digest()
    {
        var report = Verify("lpdemo_v1.signed.ko");

        Assert.True(report.Succeeded, report.FirstFailure?.Detail);
        Assert.Equal("lpdemo_v1", report.ModuleName);
        Assert.Equal("lpdemo_v1", report.Module!.ModInfo.Name);
        Assert.True(report.Module.HasModversions);
        Assert.Equal("Y", report.Module.ModInfo.Retpoline);
        Assert.Equal("5801b47d25dcaa1740729e09033290ceadd411b460ec3a496f3a94ad49e45621", report.Sha256);
        var signer = report.Signer!;
        Assert.Equal("LivePatchAgent e2e trusted test signing key", signer.Name);
        Assert.Equal(TrustedSerial, signer.KeyId);
        Assert.Equal(SignerKeyIdKind.IssuerAndSerialNumber, signer.KeyIdKind);
        Assert.Equal("sha256", signer.DigestAlgorithm);
        Assert.Equal("trusted.pem", signer.CertificateSource);
    }

    [Fact]
    public void The_signed_content_is_exactly_the_unsigned_module()
    {
        var unsigned = Read("lpdemo_v1.ko");
        var trailer = ModuleSignature.ReadTrailer(Read("lpdemo_v1.signed.ko"));

        Assert.Equal(SignatureState.Present, trailer.State);
        Assert.Equal(unsigned.Length, trailer.SignedLength);
        Assert.Equal(unsigned, trailer.Signature!.SignedContent.ToArray());
    }

    [Fact]
    public void Sign_file_minus_k_and_sha512_verify()
    {
        var ski = Verify("lpdemo_v1.ski.signed.ko");
        Assert.True(ski.Succeeded, ski.FirstFailure?.Detail);
        Assert.Equal(SignerKeyIdKind.SubjectKeyIdentifier, ski.Signer!.KeyIdKind);
        Assert.Equal(TrustedSubjectKeyIdentifier, ski.Signer.KeyId);

        var sha512 = Verify("lpdemo_v1.sha512.signed.ko");
        Assert.True(sha512.Succeeded, sha512.FirstFailure?.Detail);
        Assert.Equal("sha512", sha512.Signer!.DigestAlgorithm);
    }

    [Fact]
    public void The_trusted_certificate_works_as_der_and_counts_once_with_its_pem()
    {
        var trusted = Trust("trusted.der", "trusted.pem");

        Assert.Single(trusted.Certificates);
        Assert.True(Verify("lpdemo_v1.signed.ko", Context(trusted)).Succeeded);
    }

    [Fact]
    public void The_untrusted_key_is_untrusted_until_its_certificate_is_added()
    {
        var report = Verify("lpdemo_v1.untrusted.ko");
        Assert.Equal(ErrorReason.UntrustedSigner, report.FirstFailure!.Reason);
        Assert.Contains("LivePatchAgent e2e untrusted test signing key", report.FirstFailure.Detail);
        Assert.Equal("LivePatchAgent e2e untrusted test signing key", report.Signer!.Name);
        Assert.Equal("CN=LivePatchAgent e2e untrusted test signing key, O=LivePatchAgent e2e", report.Signer.Issuer);
        Assert.Null(report.Signer.Subject);

        Assert.True(Verify("lpdemo_v1.untrusted.ko", Context(Trust("trusted.pem", "untrusted.pem"))).Succeeded);
    }

    [Fact]
    public void The_tampered_module_is_signature_invalid()
    {
        var failure = Verify("lpdemo_v1.tampered.ko").FirstFailure!;

        Assert.Equal(ErrorReason.SignatureInvalid, failure.Reason);
        Assert.Contains("does not verify against the module's contents", failure.Detail);
    }

    [Fact]
    public void The_altered_vermagic_is_a_kernel_mismatch_the_kernel_itself_would_miss()
    {
        var failure = Verify("lpdemo_v1.badvermagic.signed.ko").FirstFailure!;

        Assert.Equal(ErrorReason.KernelMismatch, failure.Reason);
        Assert.Equal(
            "module \"lpdemo_v1\" is built for kernel 9.1.0-56-amd64, but 6.1.0-56-amd64 is running; install the build of the patch for 6.1.0-56-amd64 (the kernel itself would not notice: it ignores the vermagic release of modules with modversions)",
            failure.Detail);
    }

    [Fact]
    public void The_ordinary_module_is_not_a_livepatch_and_the_unsigned_one_is_unsigned()
    {
        Assert.Equal(ErrorReason.NotALivepatch, Verify("lpdemo_notlp.signed.ko").FirstFailure!.Reason);
        Assert.Equal(ErrorReason.UnsignedModule, Verify("lpdemo_v1.ko").FirstFailure!.Reason);
    }
}

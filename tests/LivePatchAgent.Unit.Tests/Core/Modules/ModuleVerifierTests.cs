using System.Security.Cryptography.Pkcs;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Unit.Tests.Core.Modules;

public sealed class ModuleVerifierTests
{
    public const string Vermagic = $"{ModuleImage.Release} {ModuleImage.Flags} ";

    internal static VerificationContext Context(TrustedCertificates? trusted = null) =>
        new(ModuleImage.Release, ElfMachine.X64, trusted ?? TestSigningKey.Trusted.AsTrusted())
        {
            ReferenceVermagic = Vermagic,
        };

    private static byte[] Signed(ModuleImage image) => TestSigningKey.Trusted.Sign(image.Build());

    private static VerificationCheck Check(VerificationReport report, string name) => report.Checks.Single(c => c.Name == name);

    private static VerificationCheck FailsWith(VerificationReport report, ErrorReason reason)
    {
        Assert.False(report.Succeeded);
        var failure = report.FirstFailure!;
        Assert.Equal(reason, failure.Reason);
        Assert.Equal(CheckStatus.Failed, failure.Status);
        var thrown = Assert.Throws<AgentException>(report.ThrowIfFailed);
        Assert.Equal(reason, thrown.Reason);
        Assert.Equal(failure.Detail, thrown.Message);
        return failure;
    }

    [Fact]
    public void A_trusted_livepatch_for_this_kernel_passes_every_check()
    {
        var file = Signed(new ModuleImage());

        var report = ModuleVerifier.Verify(file, Context());

        Assert.True(report.Succeeded);
        report.ThrowIfFailed();
        Assert.Equal(
            [
                (VerificationCheck.Elf, CheckStatus.Passed),
                (VerificationCheck.Livepatch, CheckStatus.Passed),
                (VerificationCheck.KernelRelease, CheckStatus.Passed),
                (VerificationCheck.VermagicFlags, CheckStatus.Passed),
                (VerificationCheck.BuildId, CheckStatus.Skipped),
                (VerificationCheck.SignaturePresent, CheckStatus.Passed),
                (VerificationCheck.Signature, CheckStatus.Passed),
                (VerificationCheck.KernelPolicy, CheckStatus.Skipped),
                (VerificationCheck.Metadata, CheckStatus.Skipped),
            ],
            report.Checks.Select(c => (c.Name, c.Status)));
        Assert.All(report.Checks, c => Assert.Null(c.Reason));
        Assert.Equal("lp_unit", report.ModuleName);
        Assert.Equal(file.Length, report.Size);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(file)), report.Sha256);
        Assert.Equal("LivePatchAgent unit test trusted key", report.Signer!.Name);
        Assert.Equal("sha256", report.Signer.DigestAlgorithm);
        Assert.Equal(
            $"signed by \"LivePatchAgent unit test trusted key\" (serial {report.Signer.KeyId}, sha256), trusted through signer.pem",
            Check(report, VerificationCheck.Signature).Detail);
        Assert.Equal("built for 6.1.0-56-amd64, the running kernel", Check(report, VerificationCheck.KernelRelease).Detail);
    }

    [Fact]
    public void An_unsigned_module_is_refused_unless_signatures_are_optional()
    {
        var file = ModuleImage.Default();

        var failure = FailsWith(ModuleVerifier.Verify(file, Context()), ErrorReason.UnsignedModule);
        Assert.Equal(VerificationCheck.SignaturePresent, failure.Name);
        Assert.Equal(
            "module \"lp_unit\" is not signed, and Verification:RequireSignature is true; sign it with sign-file and a key whose certificate is in the trusted directory",
            failure.Detail);

        var optional = ModuleVerifier.Verify(file, Context() with { RequireSignature = false });
        Assert.True(optional.Succeeded);
        Assert.Equal(CheckStatus.Skipped, Check(optional, VerificationCheck.Signature).Status);
        Assert.Null(optional.Signer);
        Assert.Equal(SignatureState.Absent, optional.SignatureState);
    }

    [Fact]
    public void An_untrusted_signer_is_refused_unless_signatures_are_optional()
    {
        var file = TestSigningKey.Untrusted.Sign(ModuleImage.Default());

        var report = ModuleVerifier.Verify(file, Context());
        var failure = FailsWith(report, ErrorReason.UntrustedSigner);
        Assert.EndsWith("add the signer's certificate to the trusted directory if you trust it", failure.Detail);
        Assert.Equal(TestSigningKey.Untrusted.Certificate.SerialNumber.ToLowerInvariant(), report.Signer!.KeyId);
        Assert.Null(report.Signer.CertificateSource);

        var optional = ModuleVerifier.Verify(file, Context() with { RequireSignature = false });
        Assert.True(optional.Succeeded);
        Assert.EndsWith("accepted because Verification:RequireSignature is false", Check(optional, VerificationCheck.Signature).Detail);
    }

    [Fact]
    public void An_untrusted_signer_message_mentions_unreadable_trusted_files()
    {
        var trusted = TrustedCertificates.FromFiles([TestSigningKey.Trusted.PemFile(), new("bad.der", new byte[] { 1, 2, 3 })]);

        var failure = FailsWith(ModuleVerifier.Verify(TestSigningKey.Untrusted.Sign(ModuleImage.Default()), Context(trusted)), ErrorReason.UntrustedSigner);

        Assert.Contains("1 file(s) in the trusted directory could not be read", failure.Detail);
    }

    [Fact]
    public void A_tampered_module_is_refused_even_when_signatures_are_optional()
    {
        var file = TestSigningKey.Trusted.Sign(ModuleImage.Default());
        new ModuleImage().Build(out var layout);
        file[layout[".gnu.linkonce.this_module"].Offset + 100] ^= 1;

        FailsWith(ModuleVerifier.Verify(file, Context()), ErrorReason.SignatureInvalid);
        FailsWith(ModuleVerifier.Verify(file, Context() with { RequireSignature = false }), ErrorReason.SignatureInvalid);
    }

    [Fact]
    public void A_malformed_trailer_is_signature_invalid_after_the_elf_checks()
    {
        var file = TestSigningKey.AppendSignature(ModuleImage.Default(), TestSigningKey.Trusted.SignDetached(ModuleImage.Default()), idType: 1);

        var report = ModuleVerifier.Verify(file, Context() with { RequireSignature = false });

        var failure = FailsWith(report, ErrorReason.SignatureInvalid);
        Assert.Equal(VerificationCheck.Signature, failure.Name);
        Assert.StartsWith("the signature trailer's id_type is 1", failure.Detail);
        Assert.Equal(CheckStatus.Passed, Check(report, VerificationCheck.Elf).Status);
    }

    [Fact]
    public void An_ordinary_module_is_not_a_livepatch()
    {
        var report = ModuleVerifier.Verify(Signed(new ModuleImage().Without("livepatch")), Context());
        Assert.Equal(
            "module \"lp_unit\" is not a live patch: its .modinfo has no livepatch=Y; load ordinary modules with modprobe",
            FailsWith(report, ErrorReason.NotALivepatch).Detail);

        report = ModuleVerifier.Verify(Signed(new ModuleImage().With("livepatch", "N")), Context());
        Assert.Equal(
            "module \"lp_unit\" is not a live patch: its .modinfo has livepatch=\"N\", not livepatch=Y",
            FailsWith(report, ErrorReason.NotALivepatch).Detail);
    }

    [Fact]
    public void The_first_failure_decides_and_later_checks_still_run()
    {
        var report = ModuleVerifier.Verify(new ModuleImage().Without("livepatch").Build(), Context());

        FailsWith(report, ErrorReason.NotALivepatch);
        Assert.Equal(ErrorReason.UnsignedModule, Check(report, VerificationCheck.SignaturePresent).Reason);
    }

    [Fact]
    public void A_module_for_another_release_is_a_kernel_mismatch_and_says_why_the_kernel_would_not_notice()
    {
        var image = new ModuleImage().With("vermagic", $"6.1.0-55-amd64 {ModuleImage.Flags} ");

        var failure = FailsWith(ModuleVerifier.Verify(Signed(image), Context()), ErrorReason.KernelMismatch);

        Assert.Equal(
            "module \"lp_unit\" is built for kernel 6.1.0-55-amd64, but 6.1.0-56-amd64 is running; install the build of the patch for 6.1.0-56-amd64 (the kernel itself would not notice: it ignores the vermagic release of modules with modversions)",
            failure.Detail);

        image.WithVersions = false;
        failure = FailsWith(ModuleVerifier.Verify(Signed(image), Context()), ErrorReason.KernelMismatch);
        Assert.EndsWith("install the build of the patch for 6.1.0-56-amd64", failure.Detail);
    }

    [Fact]
    public void The_release_must_match_exactly()
    {
        var image = new ModuleImage().With("vermagic", $"6.1.0-56-amd64+ {ModuleImage.Flags} ");

        FailsWith(ModuleVerifier.Verify(Signed(image), Context()), ErrorReason.KernelMismatch);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void A_module_without_vermagic_is_a_kernel_mismatch(string? vermagic)
    {
        var image = vermagic is null ? new ModuleImage().Without("vermagic") : new ModuleImage().With("vermagic", vermagic);
        var report = ModuleVerifier.Verify(Signed(image), Context());

        Assert.StartsWith("module \"lp_unit\" has no vermagic in .modinfo", FailsWith(report, ErrorReason.KernelMismatch).Detail);
        Assert.Equal(CheckStatus.Skipped, Check(report, VerificationCheck.VermagicFlags).Status);
    }

    [Fact]
    public void Vermagic_flags_are_compared_with_the_reference_ignoring_whitespace()
    {
        var image = new ModuleImage().With("vermagic", $"{ModuleImage.Release} SMP mod_unload modversions ");
        var failure = FailsWith(ModuleVerifier.Verify(Signed(image), Context()), ErrorReason.VermagicMismatch);
        Assert.Equal(
            "module \"lp_unit\" has vermagic flags \"SMP mod_unload modversions\", but the running kernel's modules have \"SMP preempt mod_unload modversions\"; rebuild the patch against this kernel's exact configuration",
            failure.Detail);

        var spaced = Context() with { ReferenceVermagic = $"{ModuleImage.Release}\tSMP  preempt mod_unload modversions" };
        Assert.True(ModuleVerifier.Verify(Signed(new ModuleImage()), spaced).Succeeded);

        var noReference = ModuleVerifier.Verify(Signed(image), Context() with { ReferenceVermagic = null });
        Assert.True(noReference.Succeeded);
        Assert.StartsWith("skipped: no in-tree module", Check(noReference, VerificationCheck.VermagicFlags).Detail);
    }

    [Fact]
    public void A_target_build_id_must_be_the_running_kernels_when_both_are_known()
    {
        var file = Signed(new ModuleImage());
        var context = Context() with { ExpectedBuildId = "AABBCCDD", RunningBuildId = "aabbccdd" };
        Assert.Equal(CheckStatus.Passed, Check(ModuleVerifier.Verify(file, context), VerificationCheck.BuildId).Status);

        var failure = FailsWith(ModuleVerifier.Verify(file, context with { RunningBuildId = "11223344" }), ErrorReason.BuildIdMismatch);
        Assert.Equal(
            "module \"lp_unit\" targets kernel build aabbccdd, but the running kernel's build-id is 11223344: same release, different build; install the patch built for this exact kernel",
            failure.Detail);

        var unknown = ModuleVerifier.Verify(file, context with { RunningBuildId = null });
        Assert.True(unknown.Succeeded);
        Assert.Contains("the running kernel's build-id is unknown", Check(unknown, VerificationCheck.BuildId).Detail);
    }

    [Fact]
    public void A_malformed_elf_skips_the_modinfo_checks_but_still_reports_the_signature()
    {
        // Signed after the damage, so the signature is good and the ELF is not.
        var bytes = ModuleImage.Default();
        bytes[4] = 1;
        var report = ModuleVerifier.Verify(TestSigningKey.Trusted.Sign(bytes), Context());

        var failure = FailsWith(report, ErrorReason.ModuleMalformed);
        Assert.Equal(VerificationCheck.Elf, failure.Name);
        Assert.Null(report.Module);
        Assert.Null(report.ModuleName);
        Assert.Equal(SignatureState.Present, report.SignatureState);
        Assert.All(
            [VerificationCheck.Livepatch, VerificationCheck.KernelRelease, VerificationCheck.VermagicFlags],
            name => Assert.Equal("skipped: the file is not a well-formed kernel module", Check(report, name).Detail));
        Assert.Equal(CheckStatus.Passed, Check(report, VerificationCheck.Signature).Status);
        Assert.NotNull(report.Signer);
    }

    [Fact]
    public void The_kernel_policy_line_says_what_the_kernel_will_do()
    {
        var signed = Signed(new ModuleImage());
        var unsigned = ModuleImage.Default();
        var optional = Context() with { RequireSignature = false };

        string Policy(byte[] file, VerificationContext context) => Check(ModuleVerifier.Verify(file, context), VerificationCheck.KernelPolicy).Detail;

        Assert.Contains("only if the signing key is also in its own keyrings", Policy(signed, optional with { KernelEnforcesSignatures = true }));
        Assert.Equal("the kernel is in lockdown mode integrity: it will refuse this unsigned module", Policy(unsigned, optional with { LockdownMode = "integrity" }));
        Assert.Contains("taints itself E (unsigned module)", Policy(unsigned, optional with { KernelEnforcesSignatures = false, LockdownMode = "none" }));
    }

    [Fact]
    public void A_subject_key_identifier_signed_module_verifies()
    {
        var file = TestSigningKey.Trusted.Sign(ModuleImage.Default(), SubjectIdentifierType.SubjectKeyIdentifier);

        var report = ModuleVerifier.Verify(file, Context());

        Assert.True(report.Succeeded);
        Assert.Equal(SignerKeyIdKind.SubjectKeyIdentifier, report.Signer!.KeyIdKind);
    }
}

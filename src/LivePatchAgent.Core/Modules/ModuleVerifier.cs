using System.Collections.Immutable;
using System.Security.Cryptography;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Core.Modules;

/// <summary>
/// Decides whether a module may be loaded into the running kernel: the right kind of module, for exactly this
/// kernel, signed by a signer the operator trusts. Every check is reported, so <c>lpctl verify</c> can show them
/// all; a check that depends on one that failed is skipped.
/// </summary>
public static class ModuleVerifier
{
    /// <summary>
    /// Verifies <paramref name="file"/> (the whole .ko, signature included). Never throws for anything in the
    /// file: every problem is a failed check with a catalogued reason.
    /// </summary>
    public static VerificationReport Verify(ReadOnlyMemory<byte> file, VerificationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(context.KernelRelease);
        ArgumentNullException.ThrowIfNull(context.TrustedCertificates);

        var checks = ImmutableArray.CreateBuilder<VerificationCheck>();
        KernelModule? module = null;
        try
        {
            module = KernelModule.Parse(file, context.Machine);
            checks.Add(VerificationCheck.Pass(VerificationCheck.Elf,
                $"ELF64 relocatable object for {module.Machine.Name} with {module.Sections.Length} sections, module {DisplayText.Quote(module.Name)}"));
        }
        catch (AgentException e) when (e.Reason == ErrorReason.ModuleMalformed)
        {
            checks.Add(VerificationCheck.Fail(VerificationCheck.Elf, e.Reason, e.Message));
        }

        var subject = module is null ? "the module" : $"module {DisplayText.Quote(module.Name)}";
        checks.Add(CheckLivepatch(module, subject));
        checks.Add(CheckRelease(module, subject, context));
        checks.Add(CheckFlags(module, subject, context));
        checks.Add(CheckBuildId(subject, context));

        // The trailer is read on its own, so the signature is still reported for a file whose ELF is malformed.
        var trailer = module?.Signature ?? ModuleSignature.ReadTrailer(file);
        checks.Add(CheckSignaturePresent(trailer, subject, context));
        var (signatureCheck, signer, trusted) = CheckSignature(trailer, context);
        checks.Add(signatureCheck);
        checks.Add(CheckKernelPolicy(trailer, context));

        // Last, because whether the metadata counts as signed depends on the signature checks above.
        var metadataSource = trusted ? MetadataSource.SignedModinfo : MetadataSource.UnsignedModinfo;
        var reading = module is null ? null : PatchMetadata.FromModInfo(module.ModInfo, metadataSource);
        checks.Add(CheckMetadata(module, reading, subject));

        return new VerificationReport(file.Length, Convert.ToHexStringLower(SHA256.HashData(file.Span)), module, trailer.State, signer, checks.ToImmutable())
        {
            SignatureTrusted = trusted,
            Metadata = reading?.Metadata ?? PatchMetadata.None,
        };
    }

    private const string NoModule = "skipped: the file is not a well-formed kernel module";

    private static VerificationCheck CheckLivepatch(KernelModule? module, string subject)
    {
        const string name = VerificationCheck.Livepatch;
        if (module is null)
        {
            return VerificationCheck.Skip(name, NoModule);
        }

        if (module.ModInfo.IsLivepatch)
        {
            return VerificationCheck.Pass(name, "livepatch=Y");
        }

        var detail = (module.HasModInfo, module.ModInfo.Livepatch) switch
        {
            (false, _) => $"{subject} is not a live patch: it has no .modinfo section; livepatchd only loads live patches",
            (true, null) => $"{subject} is not a live patch: its .modinfo has no livepatch=Y; load ordinary modules with modprobe",
            (true, var value) => $"{subject} is not a live patch: its .modinfo has livepatch={DisplayText.Quote(value)}, not livepatch=Y",
        };
        return VerificationCheck.Fail(name, ErrorReason.NotALivepatch, detail);
    }

    private static VerificationCheck CheckRelease(KernelModule? module, string subject, VerificationContext context)
    {
        const string name = VerificationCheck.KernelRelease;
        if (module is null)
        {
            return VerificationCheck.Skip(name, NoModule);
        }

        if (module.ModInfo.Vermagic is not { } vermagic || VermagicRelease(vermagic).Length == 0)
        {
            return VerificationCheck.Fail(name, ErrorReason.KernelMismatch,
                $"{subject} has no vermagic in .modinfo, so the kernel it was built for is unknown; build it with the kernel's build system (kbuild)");
        }

        var release = VermagicRelease(vermagic);
        if (release == context.KernelRelease)
        {
            return VerificationCheck.Pass(name, $"built for {release}, the running kernel");
        }

        var kernelWouldMiss = module.HasModversions
            ? " (the kernel itself would not notice: it ignores the vermagic release of modules with modversions)"
            : "";
        return VerificationCheck.Fail(name, ErrorReason.KernelMismatch,
            $"{subject} is built for kernel {DisplayText.Escape(release)}, but {context.KernelRelease} is running; install the build of the patch for {context.KernelRelease}{kernelWouldMiss}");
    }

    private static VerificationCheck CheckFlags(KernelModule? module, string subject, VerificationContext context)
    {
        const string name = VerificationCheck.VermagicFlags;
        if (module is null)
        {
            return VerificationCheck.Skip(name, NoModule);
        }

        if (module.ModInfo.Vermagic is not { } vermagic || VermagicRelease(vermagic).Length == 0)
        {
            return VerificationCheck.Skip(name, "skipped: the module has no vermagic");
        }

        var flags = VermagicFlags(vermagic);
        if (context.ReferenceVermagic is not { } reference)
        {
            return VerificationCheck.Skip(name,
                $"skipped: no in-tree module of the running kernel could be read to compare the flags \"{flags}\" with");
        }

        var expected = VermagicFlags(reference);
        return flags == expected
            ? VerificationCheck.Pass(name, $"flags \"{flags}\" match the running kernel's modules")
            : VerificationCheck.Fail(name, ErrorReason.VermagicMismatch,
                $"{subject} has vermagic flags {DisplayText.Quote(flags)}, but the running kernel's modules have {DisplayText.Quote(expected)}; rebuild the patch against this kernel's exact configuration");
    }

    private static VerificationCheck CheckBuildId(string subject, VerificationContext context)
    {
        const string name = VerificationCheck.BuildId;
        var expected = NormalizeBuildId(context.ExpectedBuildId);
        var running = NormalizeBuildId(context.RunningBuildId);
        if (expected is null)
        {
            return VerificationCheck.Skip(name, "skipped: no target build-id was given for this module");
        }

        if (running is null)
        {
            return VerificationCheck.Skip(name,
                $"skipped: the target build-id is {expected}, but the running kernel's build-id is unknown (/sys/kernel/notes could not be read)");
        }

        return expected == running
            ? VerificationCheck.Pass(name, $"target build-id {expected} is the running kernel's")
            : VerificationCheck.Fail(name, ErrorReason.BuildIdMismatch,
                $"{subject} targets kernel build {expected}, but the running kernel's build-id is {running}: same release, different build; install the patch built for this exact kernel");
    }

    private static VerificationCheck CheckSignaturePresent(SignatureTrailer trailer, string subject, VerificationContext context)
    {
        const string name = VerificationCheck.SignaturePresent;
        return trailer.State switch
        {
            SignatureState.Present => VerificationCheck.Pass(name,
                $"a PKCS#7 signature of {trailer.Signature!.Pkcs7.Length} bytes is appended; the module image is {trailer.SignedLength} bytes"),
            SignatureState.Malformed => VerificationCheck.Pass(name, "a signature trailer is appended"),
            _ when context.RequireSignature => VerificationCheck.Fail(name, ErrorReason.UnsignedModule,
                $"{subject} is not signed, and Verification:RequireSignature is true; sign it with sign-file and a key whose certificate is in the trusted directory"),
            _ => VerificationCheck.Pass(name,
                "not signed; accepted because Verification:RequireSignature is false"),
        };
    }

    private static (VerificationCheck Check, ModuleSigner? Signer, bool Trusted) CheckSignature(SignatureTrailer trailer, VerificationContext context)
    {
        const string name = VerificationCheck.Signature;
        switch (trailer.State)
        {
            case SignatureState.Absent:
                return (VerificationCheck.Skip(name, "skipped: the module is not signed"), null, false);
            case SignatureState.Malformed:
                return (VerificationCheck.Fail(name, ErrorReason.SignatureInvalid, trailer.Problem!), null, false);
        }

        var trusted = context.TrustedCertificates;
        var result = trailer.Signature!.Check(trusted);
        if (result.Failure is null)
        {
            var signer = result.Signer!;
            return (VerificationCheck.Pass(name, $"signed by {signer.Describe()}, trusted through {signer.CertificateSource}"), signer, true);
        }

        var failure = result.Failure;
        if (failure.Reason == ErrorReason.UntrustedSigner)
        {
            if (!context.RequireSignature)
            {
                return (VerificationCheck.Pass(name,
                    $"{failure.Message}; accepted because Verification:RequireSignature is false"), result.Signer, false);
            }

            var unreadable = trusted.Problems.Length == 0
                ? ""
                : $" ({trusted.Problems.Length} file(s) in the trusted directory could not be read; livepatchd's log names them)";
            return (VerificationCheck.Fail(name, failure.Reason,
                $"{failure.Message}{unreadable}; add the signer's certificate to the trusted directory if you trust it"), result.Signer, false);
        }

        return (VerificationCheck.Fail(name, failure.Reason, failure.Message), result.Signer, false);
    }

    private static VerificationCheck CheckMetadata(KernelModule? module, PatchMetadataReading? reading, string subject)
    {
        const string name = VerificationCheck.Metadata;
        if (module is null || reading is null)
        {
            return VerificationCheck.Skip(name, NoModule);
        }

        if (!reading.Valid)
        {
            // Up to three rules broken, named with their values, so one verify run shows what to fix.
            var shown = string.Join("; ", reading.Errors.Take(3));
            var more = reading.Errors.Length > 3 ? $"; and {reading.Errors.Length - 3} more" : string.Empty;
            return VerificationCheck.Fail(name, ErrorReason.MetadataInvalid,
                $"{subject} declares invalid security metadata: {shown}{more}; fix the MODULE_INFO lines (docs/patch-authoring.md) and rebuild");
        }

        var metadata = reading.Metadata;
        var warnings = metadata.Warnings.IsEmpty ? string.Empty : $"; warning: {string.Join("; ", metadata.Warnings)}";
        if (metadata.IsEmpty)
        {
            return VerificationCheck.Skip(name, $"skipped: {subject} declares no security metadata ({string.Join(", ", PatchMetadataKeys.All)}){warnings}");
        }

        var parts = new List<string>();
        if (!metadata.CveIds.IsEmpty)
        {
            parts.Add(metadata.CveIds.Length <= 5
                ? string.Join(", ", metadata.CveIds)
                : $"{string.Join(", ", metadata.CveIds.Take(5))} and {metadata.CveIds.Length - 5} more CVE ids");
        }

        if (metadata.Level is { } level)
        {
            parts.Add($"level {level}");
        }

        if (metadata.FixesVersion is { } fixes)
        {
            parts.Add($"fixes of {fixes}");
        }

        if (metadata.Summary is not null)
        {
            parts.Add("a summary");
        }

        var trust = metadata.Source == MetadataSource.SignedModinfo
            ? "signed: the trusted signature covers it"
            : "unsigned-modinfo: no trusted signature covers it";
        return VerificationCheck.Pass(name, $"declares {string.Join("; ", parts)}; {trust}{warnings}");
    }

    private static VerificationCheck CheckKernelPolicy(SignatureTrailer trailer, VerificationContext context)
    {
        const string name = VerificationCheck.KernelPolicy;
        var lockdown = context.LockdownMode is { } mode && mode != "none" ? mode : null;
        if (context.KernelEnforcesSignatures is null && context.LockdownMode is null)
        {
            return VerificationCheck.Skip(name, "skipped: the kernel's signature policy (sig_enforce, lockdown) is unknown");
        }

        if (context.KernelEnforcesSignatures == true || lockdown is not null)
        {
            var why = context.KernelEnforcesSignatures == true ? "the kernel enforces module signatures (sig_enforce=Y)" : $"the kernel is in lockdown mode {lockdown}";
            return VerificationCheck.Pass(name, trailer.State == SignatureState.Present
                ? $"{why}: it loads the module only if the signing key is also in its own keyrings"
                : $"{why}: it will refuse this unsigned module");
        }

        return VerificationCheck.Pass(name, trailer.State == SignatureState.Present
            ? "the kernel does not enforce signatures; if the signing key is not in its keyrings it loads the module and taints itself E"
            : "the kernel does not enforce signatures; it loads the module and taints itself E (unsigned module)");
    }

    /// <summary>The first token of vermagic: the kernel release (<c>UTS_RELEASE</c>).</summary>
    internal static string VermagicRelease(string vermagic)
    {
        var trimmed = vermagic.TrimStart();
        var space = trimmed.IndexOfAny([' ', '\t']);
        return space < 0 ? trimmed : trimmed[..space];
    }

    /// <summary>The flag tokens after the release, with whitespace normalised (vermagic ends with a space).</summary>
    internal static string VermagicFlags(string vermagic) =>
        string.Join(' ', vermagic.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Skip(1));

    private static string? NormalizeBuildId(string? buildId) =>
        string.IsNullOrWhiteSpace(buildId) ? null : buildId.Trim().ToLowerInvariant();
}

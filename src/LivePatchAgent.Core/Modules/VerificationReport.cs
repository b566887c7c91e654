using System.Collections.Immutable;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Core.Modules;

/// <summary>What livepatchd knows about the host when it verifies a module.</summary>
/// <param name="KernelRelease">The running kernel's release (<c>uname -r</c>, /proc/sys/kernel/osrelease).</param>
/// <param name="Machine">The host's ELF machine, normally <see cref="ElfMachine.Host"/>.</param>
/// <param name="TrustedCertificates">The certificates of trusted module signers.</param>
public sealed record VerificationContext(string KernelRelease, ElfMachine Machine, TrustedCertificates TrustedCertificates)
{
    /// <summary>The running vmlinux's GNU build-id (lowercase hex, from /sys/kernel/notes), when readable.</summary>
    public string? RunningBuildId { get; init; }

    /// <summary>
    /// The vermagic of an in-tree module of the running kernel, when one could be read: its flag tokens are what
    /// the module's must equal.
    /// </summary>
    public string? ReferenceVermagic { get; init; }

    /// <summary>The build-id the patch is meant for (from its manifest or the request), when known.</summary>
    public string? ExpectedBuildId { get; init; }

    /// <summary><c>Verification:RequireSignature</c>: refuse unsigned modules (and ones signed by unknown keys).</summary>
    public bool RequireSignature { get; init; } = true;

    /// <summary>Whether the kernel enforces module signatures (/sys/module/module/parameters/sig_enforce), when known.</summary>
    public bool? KernelEnforcesSignatures { get; init; }

    /// <summary>The current lockdown mode (none, integrity, confidentiality), when known.</summary>
    public string? LockdownMode { get; init; }
}

public enum CheckStatus
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>One named check: its outcome, one line for the operator, and the error reason when it failed.</summary>
public sealed record VerificationCheck(string Name, CheckStatus Status, string Detail, ErrorReason? Reason)
{
    /// <summary>The well-formed ELF64 kernel module for this host's machine.</summary>
    public const string Elf = "elf";

    /// <summary><c>livepatch=Y</c> in .modinfo.</summary>
    public const string Livepatch = "livepatch";

    /// <summary>The vermagic release is the running kernel's release.</summary>
    public const string KernelRelease = "kernel-release";

    /// <summary>The vermagic flags are those of the running kernel's own modules.</summary>
    public const string VermagicFlags = "vermagic-flags";

    /// <summary>The target build-id is the running kernel's.</summary>
    public const string BuildId = "build-id";

    /// <summary>A signature is appended (or signatures are not required).</summary>
    public const string SignaturePresent = "signature-present";

    /// <summary>The signature is well-formed, matches the module and comes from a trusted signer.</summary>
    public const string Signature = "signature";

    /// <summary>What the kernel's own policy (sig_enforce, lockdown) will make of the module; never fails.</summary>
    public const string KernelPolicy = "kernel-policy";

    /// <summary>The security metadata the module declares (livepatch_cve, ...) follows the rules of docs/patch-authoring.md.</summary>
    public const string Metadata = "metadata";

    internal static VerificationCheck Pass(string name, string detail) => new(name, CheckStatus.Passed, detail, null);

    internal static VerificationCheck Skip(string name, string detail) => new(name, CheckStatus.Skipped, detail, null);

    internal static VerificationCheck Fail(string name, ErrorReason reason, string detail) => new(name, CheckStatus.Failed, detail, reason);
}

/// <summary>
/// The result of verifying a module: every check in order (what <c>lpctl verify</c> prints) and what was learnt
/// about the module on the way. The outcome is the first failed check.
/// </summary>
public sealed class VerificationReport
{
    internal VerificationReport(
        long size, string sha256, KernelModule? module, SignatureState signatureState, ModuleSigner? signer, ImmutableArray<VerificationCheck> checks)
    {
        Size = size;
        SignatureState = signatureState;
        Sha256 = sha256;
        Module = module;
        Signer = signer;
        Checks = checks;
        FirstFailure = checks.FirstOrDefault(c => c.Status == CheckStatus.Failed);
    }

    public long Size { get; }

    /// <summary>SHA-256 of the whole file, lowercase hex.</summary>
    public string Sha256 { get; }

    /// <summary>The parsed module, or null when the file is not a well-formed module.</summary>
    public KernelModule? Module { get; }

    /// <summary>The name the kernel will register the module under, when the ELF could be read.</summary>
    public string? ModuleName => Module?.Name;

    /// <summary>Whether a signature trailer is appended, read even when the ELF is malformed.</summary>
    public SignatureState SignatureState { get; }

    /// <summary>The signer, whenever the signature could be decoded (also when untrusted or not matching).</summary>
    public ModuleSigner? Signer { get; }

    /// <summary>Whether the signature verified against a trusted certificate (not merely accepted without one).</summary>
    public bool SignatureTrusted { get; init; }

    /// <summary>
    /// The security metadata the module declares, marked signed when <see cref="SignatureTrusted"/>; empty when it
    /// declares none or broke the rules (the metadata check then failed).
    /// </summary>
    public PatchMetadata Metadata { get; init; } = PatchMetadata.None;

    public ImmutableArray<VerificationCheck> Checks { get; }

    public VerificationCheck? FirstFailure { get; }

    public bool Succeeded => FirstFailure is null;

    /// <summary>Throws the first failure as an <see cref="AgentException"/> with its reason and detail.</summary>
    public void ThrowIfFailed()
    {
        if (FirstFailure is { } failure)
        {
            throw new AgentException(failure.Reason!, failure.Detail);
        }
    }
}

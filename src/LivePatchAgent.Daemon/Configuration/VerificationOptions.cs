using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>What a module must prove before it reaches the kernel.</summary>
public sealed class VerificationOptions
{
    public const string SectionName = "Verification";

    /// <summary>X.509 certificates (PEM or DER) of trusted signers; read at every verification, so no restart is needed.</summary>
    [Required]
    [RegularExpression("^/.*", ErrorMessage = "must be an absolute path")]
    public string TrustedCertificatesDir { get; set; } = "/etc/livepatchd/trusted.d";

    /// <summary>Refuse modules without a signature from a trusted certificate.</summary>
    public bool RequireSignature { get; set; } = true;

    /// <summary>
    /// Optional vmlinux GNU build-id (hex) every patch must target; empty means "not checked". Binds patches to
    /// one exact kernel build when release strings are reused across package builds.
    /// </summary>
    [RegularExpression("^$|^[0-9a-fA-F]{2,128}$", ErrorMessage = "must be a hex build-id or empty")]
    public string TargetBuildId { get; set; } = string.Empty;
}

[OptionsValidator]
public sealed partial class VerificationOptionsValidator : IValidateOptions<VerificationOptions>;

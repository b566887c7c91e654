namespace LivePatchAgent.Core.Kernel;

/// <summary>
/// What the daemon knows about the running kernel. A null member means "unknown": the file was absent or
/// unreadable. Nothing here is ever guessed.
/// </summary>
public sealed record KernelFacts
{
    public string? Release { get; init; }

    public string? Version { get; init; }

    public string? BootId { get; init; }

    public TaintMask? Taint { get; init; }

    /// <summary>The active lockdown mode ("none", "integrity", "confidentiality").</summary>
    public string? Lockdown { get; init; }

    public bool? SigEnforce { get; init; }

    public bool? ModulesDisabled { get; init; }

    public bool? FtraceEnabled { get; init; }

    public bool LivepatchSupported { get; init; }

    /// <summary>The vmlinux GNU build-id, lowercase hex.</summary>
    public string? BuildId { get; init; }

    /// <summary>True when the identity of the running kernel (release, version or boot) differs.</summary>
    public bool IsDifferentKernelFrom(KernelFacts other) =>
        !string.Equals(Release, other.Release, StringComparison.Ordinal)
        || !string.Equals(Version, other.Version, StringComparison.Ordinal)
        || !string.Equals(BootId, other.BootId, StringComparison.Ordinal);
}

using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>Start-up apply of installed patches, and what happens after an atomic replace.</summary>
public sealed class ApplyOptions
{
    public const string SectionName = "Apply";

    /// <summary>
    /// Load the installed patches of the running kernel when the daemon starts and when the kernel changes.
    /// <c>livepatchd.apply=0</c> on the kernel command line turns it off too, for one boot.
    /// </summary>
    public bool AtStartup { get; set; } = true;

    /// <summary>
    /// After a load that atomically replaced other patches, remove the replaced modules once their reference count
    /// is 0, so no leftover blocks a later load of those names.
    /// </summary>
    public bool CleanupLeftovers { get; set; } = true;
}

/// <summary>Two booleans: the binder already refuses anything but true and false, so every bound value is valid.</summary>
public sealed class ApplyOptionsValidator : IValidateOptions<ApplyOptions>
{
    public ValidateOptionsResult Validate(string? name, ApplyOptions options) => ValidateOptionsResult.Success;
}

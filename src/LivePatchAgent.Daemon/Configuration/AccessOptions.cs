using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>Who counts as an administrator besides root.</summary>
public sealed class AccessOptions
{
    public const string SectionName = "Access";

    /// <summary>Members of this group may call every mutation; empty means root only.</summary>
    [RegularExpression("^$|^[a-z_][a-z0-9_-]{0,31}$", ErrorMessage = "must be a group name such as livepatch-admin, or empty")]
    public string AdminGroup { get; set; } = "livepatch-admin";
}

[OptionsValidator]
public sealed partial class AccessOptionsValidator : IValidateOptions<AccessOptions>;

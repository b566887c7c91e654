using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>Who counts as an administrator besides root.</summary>
public sealed class AccessOptions
{
    public const string SectionName = "Access";

    /// <summary>
    /// Members of this group may call every mutation; empty means root only. Resolved through NSS, so a name from
    /// a directory (sssd's "admins@example.com", winbind's "CORP\admins") is allowed: anything but ':' (the group
    /// file's separator), ',' and control characters, without leading or trailing space, at most 256 characters.
    /// </summary>
    [RegularExpression(@"^$|^[^\s:,](?:[^\x00-\x1f\x7f:,]{0,254}[^\s:,])?$", ErrorMessage = "must be a group name such as livepatch-admin, or empty")]
    public string AdminGroup { get; set; } = "livepatch-admin";
}

[OptionsValidator]
public sealed partial class AccessOptionsValidator : IValidateOptions<AccessOptions>;

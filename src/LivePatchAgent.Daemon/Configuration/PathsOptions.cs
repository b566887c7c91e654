using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>Where the daemon finds the kernel and keeps its own state.</summary>
public sealed class PathsOptions
{
    public const string SectionName = "Paths";

    /// <summary>The root under which /sys and /proc are read; "/" on a host, the host mount in a container.</summary>
    [Required]
    [RegularExpression("^/.*", ErrorMessage = "must be an absolute path")]
    public string HostRoot { get; set; } = "/";

    /// <summary>The state directory: installed patches, the journal, pins.</summary>
    [Required]
    [RegularExpression("^/.*", ErrorMessage = "must be an absolute path")]
    public string StateDir { get; set; } = "/var/lib/livepatchd";

    /// <summary>
    /// The vendor store: patches that OS packages deliver as <c>&lt;kernel release&gt;/&lt;name&gt;.ko</c>. livepatchd
    /// only reads it; it never writes, creates or deletes anything there.
    /// </summary>
    [Required]
    [RegularExpression("^/.*", ErrorMessage = "must be an absolute path")]
    public string VendorStoreDir { get; set; } = "/usr/lib/livepatchd/patches";
}

[OptionsValidator]
public sealed partial class PathsOptionsValidator : IValidateOptions<PathsOptions>;

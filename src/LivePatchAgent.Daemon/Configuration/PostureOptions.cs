using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>The CVE posture: which OSV advisory files are read, how often, and how much of them.</summary>
public sealed class PostureOptions
{
    public const string SectionName = "Posture";

    /// <summary>
    /// The directory of OSV advisory files (<c>*.json</c>, one advisory or an array each), filled by configuration
    /// management; empty means &lt;Paths:StateDir&gt;/advisories. A missing directory is no posture, not an error.
    /// </summary>
    [RegularExpression("^(/.*)?$", ErrorMessage = "must be an absolute path, or empty for <Paths:StateDir>/advisories")]
    public string AdvisoriesDir { get; set; } = string.Empty;

    /// <summary>
    /// The files are re-read when the directory changes (inotify) and at least this often, for file systems that do
    /// not notify (NFS) and edits in place that a watcher can miss.
    /// </summary>
    [TimeSpanRange(1_000, 86_400_000)]
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>A feed file larger than this is skipped with a problem naming it (default 32 MiB).</summary>
    [IntegerRange(1024, 1L << 31)]
    public long MaxFileBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>The effective directory: <see cref="AdvisoriesDir"/>, or advisories under the state directory.</summary>
    public string DirectoryUnder(string stateDir) =>
        AdvisoriesDir.Length > 0 ? AdvisoriesDir : Path.Combine(stateDir, "advisories");
}

[OptionsValidator]
public sealed partial class PostureOptionsValidator : IValidateOptions<PostureOptions>;

/// <summary>The threshold of <c>lpctl check</c>.</summary>
public sealed class CheckOptions
{
    public const string SectionName = "Check";

    /// <summary>lpctl check is critical while an open advisory is at or above this severity; off never.</summary>
    public CheckSeverity FailOnSeverity { get; set; } = CheckSeverity.High;
}

/// <summary>The severities <see cref="CheckOptions.FailOnSeverity"/> takes.</summary>
public enum CheckSeverity
{
    Off,
    Low,
    Medium,
    High,
    Critical,
}

/// <summary>One enum: the binder refuses anything but its names, so every bound value is valid.</summary>
public sealed class CheckOptionsValidator : IValidateOptions<CheckOptions>
{
    public ValidateOptionsResult Validate(string? name, CheckOptions options) => ValidateOptionsResult.Success;
}

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>The Prometheus metrics file for node_exporter's textfile collector (docs/metrics.md).</summary>
public sealed class MetricsOptions
{
    public const string SectionName = "Metrics";

    /// <summary>Debian's and Fedora's node_exporter textfile directory: the default when <see cref="TextfileDir"/> is empty.</summary>
    public const string DefaultTextfileDir = "/var/lib/prometheus/node-exporter";

    /// <summary>The file's name in the directory; node_exporter reads every <c>*.prom</c> file there.</summary>
    public const string FileName = "livepatchd.prom";

    /// <summary>Off: no file is written (<c>lpctl metrics</c> still prints the exposition).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The directory node_exporter's <c>--collector.textfile.directory</c> reads. Empty means
    /// <see cref="DefaultTextfileDir"/> (under Paths:HostRoot) when that exists (no node_exporter: no file, not an error); a directory
    /// named here must exist, else the daemon is degraded and says why.
    /// </summary>
    [RegularExpression("^(/.*)?$", ErrorMessage = "must be an absolute path, or empty for " + DefaultTextfileDir)]
    public string TextfileDir { get; set; } = string.Empty;

    /// <summary>The file is written on every change and at least this often, so a stale file means a stuck daemon.</summary>
    [TimeSpanRange(1_000, 3_600_000)]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Changes within this window after the first are written as one file (a transition changes state often).</summary>
    [TimeSpanRange(0, 60_000)]
    public TimeSpan CoalesceWindow { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether the directory was named (a missing one is then a problem) or is the default.</summary>
    public bool IsConfiguredDir() => TextfileDir.Length > 0;

    /// <summary>
    /// The effective directory: <see cref="TextfileDir"/>, else the default under Paths:HostRoot (the host's own
    /// node_exporter, also from a container; a test daemon on a fixture tree never writes the real one).
    /// </summary>
    public string EffectiveDirectory(string hostRoot) =>
        IsConfiguredDir() ? TextfileDir : Path.Combine(hostRoot, DefaultTextfileDir.TrimStart('/'));
}

[OptionsValidator]
public sealed partial class MetricsOptionsValidator : IValidateOptions<MetricsOptions>;

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>Bounds on what one request may cost the daemon.</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Limits";

    /// <summary>The largest module accepted for upload, in bytes (default 64 MiB).</summary>
    [Range(4096, 1L << 30)]
    public long MaxModuleSize { get; set; } = 64L * 1024 * 1024;

    /// <summary>The default time a load or unload waits for its transition (and retries a busy kernel).</summary>
    [TimeSpanRange(1_000, 3_600_000)]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

[OptionsValidator]
public sealed partial class LimitsOptionsValidator : IValidateOptions<LimitsOptions>;

using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>Bounds on what one request may cost the daemon.</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Limits";

    /// <summary>The largest module accepted for upload, in bytes (default 64 MiB).</summary>
    [IntegerRange(4096, 1L << 30)]
    public long MaxModuleSize { get; set; } = 64L * 1024 * 1024;

    /// <summary>The default time a load or unload waits for its transition (and retries a busy kernel).</summary>
    [TimeSpanRange(1_000, 3_600_000)]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Connections open at once, all users together (Kestrel's limit; default 256).</summary>
    [IntegerRange(1, 100_000)]
    public int MaxConnections { get; set; } = 256;

    /// <summary>
    /// Connections open at once per uid (default 32). Beyond it a few more are accepted only to answer every call
    /// with limit-exceeded; the rest are closed at once.
    /// </summary>
    [IntegerRange(1, 100_000)]
    public int MaxConnectionsPerUid { get; set; } = 32;

    /// <summary>WatchEvents streams open at once per uid (default 16).</summary>
    [IntegerRange(1, 100_000)]
    public int MaxWatchStreamsPerUid { get; set; } = 16;

    /// <summary>
    /// The longest any one call may run (watch streams excepted; default 2 h, above the longest operation timeout
    /// a caller may ask for, 1 h). A client's own shorter deadline applies as well.
    /// </summary>
    [TimeSpanRange(1_000, 86_400_000)]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromHours(2);
}

[OptionsValidator]
public sealed partial class LimitsOptionsValidator : IValidateOptions<LimitsOptions>;

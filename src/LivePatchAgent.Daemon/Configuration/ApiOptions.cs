using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>The gRPC endpoint on a Unix socket.</summary>
public sealed class ApiOptions
{
    public const string SectionName = "Api";

    /// <summary>The socket path. sun_path holds 107 bytes plus the terminating NUL.</summary>
    [Required]
    [StringLength(107, MinimumLength = 2)]
    [RegularExpression("^/.*", ErrorMessage = "must be an absolute path")]
    public string SocketPath { get; set; } = "/run/livepatchd/livepatchd.sock";

    /// <summary>The socket file mode, octal. Per-RPC access checks decide what each caller may do.</summary>
    [Required]
    [RegularExpression("^0?[0-7]{3}$", ErrorMessage = "must be an octal file mode such as 0666")]
    public string SocketMode { get; set; } = "0666";

    /// <summary>Events buffered per WatchEvents subscriber before it is told it lagged.</summary>
    [IntegerRange(16, 65536)]
    public int WatchBufferSize { get; set; } = 256;

    public UnixFileMode GetSocketMode() => (UnixFileMode)Convert.ToInt32(SocketMode, 8);
}

[OptionsValidator]
public sealed partial class ApiOptionsValidator : IValidateOptions<ApiOptions>;

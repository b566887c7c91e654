using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>How often the kernel state is polled. sysfs has no change notification, so polling it is.</summary>
public sealed class WatchOptions
{
    public const string SectionName = "Watch";

    /// <summary>The poll interval while no transition runs.</summary>
    [TimeSpanRange(10, 3_600_000)]
    public TimeSpan IdleInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The poll interval while a transition runs, so its end is seen quickly.</summary>
    [TimeSpanRange(10, 60_000)]
    public TimeSpan TransitionInterval { get; set; } = TimeSpan.FromMilliseconds(100);
}

[OptionsValidator]
public sealed partial class WatchOptionsValidator : IValidateOptions<WatchOptions>;

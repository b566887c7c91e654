using LivePatchAgent.Core.Transitions;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>The ladder for stalled transitions (docs/operations.md, "A stalled transition").</summary>
public sealed class TransitionsOptions
{
    public const string SectionName = "Transitions";

    /// <summary>A transition running longer than this is stalled. The kernel fake-signals blocked tasks every ~15 s on its own.</summary>
    [TimeSpanRange(1_000, 86_400_000)]
    public TimeSpan StallAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Kick blocked user tasks with SIGSTOP+SIGCONT; off by default because the kernel docs warn it may be harmful.</summary>
    public bool KickBlockedTasks { get; set; }

    /// <summary>When to kick, if <see cref="KickBlockedTasks"/> is on.</summary>
    [TimeSpanRange(1_000, 86_400_000)]
    public TimeSpan KickAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>When to apply <see cref="OnStall"/>.</summary>
    [TimeSpanRange(1_000, 86_400_000)]
    public TimeSpan ResolveAfter { get; set; } = TimeSpan.FromSeconds(180);

    /// <summary>revert (default), force, or none.</summary>
    public OnStall OnStall { get; set; } = OnStall.Revert;

    /// <summary>How often the blocking tasks of a stalled transition are scanned again.</summary>
    [TimeSpanRange(1_000, 3_600_000)]
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromSeconds(10);

    public TransitionPolicy ToPolicy() => new(StallAfter, KickBlockedTasks ? KickAfter : null, ResolveAfter, OnStall);
}

[OptionsValidator]
public sealed partial class TransitionsOptionsValidator : IValidateOptions<TransitionsOptions>;

/// <summary>The ranges, and the ladder's order: stall, then kick, then resolve.</summary>
public sealed class TransitionsOrderValidator : IValidateOptions<TransitionsOptions>
{
    private readonly TransitionsOptionsValidator _ranges = new();

    public ValidateOptionsResult Validate(string? name, TransitionsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var ranges = _ranges.Validate(name, options);
        if (ranges.Failed)
        {
            return ranges;
        }

        if (options.ResolveAfter < options.StallAfter)
        {
            return ValidateOptionsResult.Fail("ResolveAfter: must not be shorter than StallAfter");
        }

        if (options.KickBlockedTasks && (options.KickAfter < options.StallAfter || options.KickAfter > options.ResolveAfter))
        {
            return ValidateOptionsResult.Fail("KickAfter: must lie between StallAfter and ResolveAfter");
        }

        return ValidateOptionsResult.Success;
    }
}

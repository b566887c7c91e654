using LivePatchAgent.Core.Health;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>The kernel health guard (docs/operations.md, "Kernel health guard").</summary>
public sealed class HealthOptions
{
    public const string SectionName = "Health";

    /// <summary>Read the kernel log and the taint mask at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long after a patch's transition completes kernel reports are attributed to it.</summary>
    [TimeSpanRange(1_000, 604_800_000)]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A warning, soft lockup, RCU stall, hung task or livepatch error attributed to a patch: alert by default. A WARN
    /// is an assertion that often fires on benign paths, and a revert is itself a transition; the operator decides.
    /// </summary>
    public HealthAction OnKernelWarning { get; set; } = HealthAction.Alert;

    /// <summary>
    /// A BUG, an oops or a hard lockup attributed to a patch: revert by default. The kernel killed a task in the patch's
    /// code path; the next caller of that path meets the same fault, so taking the patch out is the lesser risk.
    /// </summary>
    public HealthAction OnKernelBug { get; set; } = HealthAction.Revert;

    /// <summary>At most this many kernel reports are handled per minute; the rest are counted and reported as suppressed.</summary>
    [IntegerRange(1, 10_000)]
    public int MaxReportsPerMinute { get; set; } = 30;
}

[OptionsValidator]
public sealed partial class HealthOptionsValidator : IValidateOptions<HealthOptions>;

using System.Collections.Immutable;

namespace LivePatchAgent.Core.Health;

/// <summary>What the kernel complained about.</summary>
public enum KernelReportKind
{
    /// <summary>A WARN()/WARN_ON(): "------------[ cut here ]------------" and "WARNING: CPU: …".</summary>
    Warning,

    /// <summary>A BUG() or an oops: "kernel BUG at …", "BUG: unable to handle page fault …", "Oops: …", a general protection fault.</summary>
    Bug,

    /// <summary>"watchdog: BUG: soft lockup - CPU#1 stuck for 22s!", or a workqueue lockup.</summary>
    SoftLockup,

    /// <summary>"Watchdog detected hard LOCKUP on cpu 1" (the NMI watchdog).</summary>
    HardLockup,

    /// <summary>"rcu: INFO: rcu_preempt self-detected stall on CPU", "… detected stalls on CPUs/tasks".</summary>
    RcuStall,

    /// <summary>"INFO: task cat:123 blocked for more than 120 seconds."</summary>
    HungTask,

    /// <summary>An error of the livepatch core itself ("livepatch: …" at error level or worse).</summary>
    LivepatchError,
}

/// <summary>Which of the two policies a report falls under.</summary>
public enum KernelReportSeverity
{
    /// <summary>The kernel complains and goes on (Health:OnKernelWarning).</summary>
    Warning,

    /// <summary>The kernel killed a task or a CPU stopped answering (Health:OnKernelBug).</summary>
    Bug,
}

/// <summary>One frame of a call trace, as "func+0x12/0x34 [module]".</summary>
/// <param name="Function">The function.</param>
/// <param name="Module">The module, null for vmlinux.</param>
/// <param name="Reliable">False for the frames the unwinder only guessed ("? func+…"): they never attribute.</param>
/// <param name="Text">The frame as printed.</param>
public sealed record StackFrame(string Function, string? Module, bool Reliable, string Text);

/// <summary>One complaint of the kernel, assembled from the log records that make it up.</summary>
public sealed record KernelReport
{
    public required KernelReportKind Kind { get; init; }

    /// <summary>The line that says what happened, e.g. "WARNING: CPU: 0 PID: 345 at … lpdemo_warn_show+0x1e/0x30 [lpdemo_warn]".</summary>
    public required string Headline { get; init; }

    /// <summary>The sequence number of its first record.</summary>
    public required ulong Sequence { get; init; }

    /// <summary>The kernel's timestamp of its first record, microseconds since boot.</summary>
    public required ulong Microseconds { get; init; }

    /// <summary>Its records' texts, in order (at most <see cref="KernelReportAssembler.MaxLines"/>).</summary>
    public ImmutableArray<string> Lines { get; init; } = [];

    /// <summary>The functions it names: the WARNING/RIP line's and the call trace's, innermost first.</summary>
    public ImmutableArray<StackFrame> Frames { get; init; } = [];

    /// <summary>Whether it ended with "---[ end trace … ]---" (otherwise it ended when the log went quiet or another began).</summary>
    public bool Ended { get; init; }

    public KernelReportSeverity Severity => Kind is KernelReportKind.Bug or KernelReportKind.HardLockup ? KernelReportSeverity.Bug : KernelReportSeverity.Warning;

    /// <summary>The kind as the API and the docs spell it: warning, bug, soft-lockup, hard-lockup, rcu-stall, hung-task, livepatch-error.</summary>
    public static string Name(KernelReportKind kind) => kind switch
    {
        KernelReportKind.Warning => "warning",
        KernelReportKind.Bug => "bug",
        KernelReportKind.SoftLockup => "soft-lockup",
        KernelReportKind.HardLockup => "hard-lockup",
        KernelReportKind.RcuStall => "rcu-stall",
        KernelReportKind.HungTask => "hung-task",
        _ => "livepatch-error",
    };
}

using System.Collections.Immutable;

namespace LivePatchAgent.Core.Transitions;

/// <summary>
/// A thread whose patch_state differs from the transition's target: it has not switched yet, usually because a
/// function being (un)patched is on its stack.
/// </summary>
public sealed record BlockingTask
{
    public required int Pid { get; init; }

    public required int Tid { get; init; }

    public required string Comm { get; init; }

    /// <summary>The process command line (empty for kernel threads).</summary>
    public string Cmdline { get; init; } = string.Empty;

    public bool IsKernelThread { get; init; }

    /// <summary>The systemd unit from /proc/&lt;pid&gt;/cgroup, e.g. "sshd.service"; null when none.</summary>
    public string? Unit { get; init; }

    /// <summary>The kernel stack, one frame per entry ("lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]"); empty when unreadable.</summary>
    public ImmutableArray<string> Stack { get; init; } = [];

    /// <summary>Why the stack is missing, when it is (e.g. permission denied).</summary>
    public string? StackProblem { get; init; }

    /// <summary>The thread's patch_state: 0 unpatched, 1 patched.</summary>
    public int PatchState { get; init; }

    /// <summary>The patched function on the stack that holds the thread, when one was found.</summary>
    public StackMatch? HeldBy { get; init; }
}

/// <summary>A stack frame that is one of the transition's functions.</summary>
/// <param name="Function">The function name.</param>
/// <param name="PatchedObject">"vmlinux" or the module the frame belongs to.</param>
/// <param name="Frame">The frame as the kernel printed it.</param>
/// <param name="IsReplacement">True when the frame is the patch's new function (the thread sleeps in the replacement; typical while unpatching).</param>
public sealed record StackMatch(string Function, string PatchedObject, string Frame, bool IsReplacement)
{
    public string Describe() => IsReplacement
        ? $"sleeping in the replacement {Function}() from the patch module {PatchedObject}"
        : $"sleeping in {Function}() ({PatchedObject}), which the patch replaces";
}

using System.Collections.Immutable;

namespace LivePatchAgent.Core.Kernel;

/// <summary>
/// An immutable picture of the kernel's live patch state at one moment. Every reader of state (gRPC, D-Bus,
/// the supervisor) works from one of these; nobody re-reads sysfs on a request path.
/// </summary>
public sealed record KernelSnapshot
{
    public required DateTimeOffset TakenAt { get; init; }

    public required KernelFacts Kernel { get; init; }

    /// <summary>Registered patches, in stacking order (stack_order when known, else by name).</summary>
    public ImmutableArray<LivePatch> Patches { get; init; } = [];

    /// <summary>
    /// Live patch modules (per-module taint K) that are loaded but no longer registered: replaced or disabled
    /// and not yet removed. A module of the same name cannot be loaded until they are.
    /// </summary>
    public ImmutableArray<LeftoverModule> Leftovers { get; init; } = [];

    /// <summary>While a transition runs: how many tasks have switched (from /proc/*/task/*/patch_state); else null.</summary>
    public TransitionProgress? Progress { get; init; }

    /// <summary>Values that could not be read or parsed, each with its path.</summary>
    public ImmutableArray<ReadProblem> Problems { get; init; } = [];

    /// <summary>The patch in transition; the kernel allows at most one.</summary>
    public LivePatch? TransitioningPatch => Patches.FirstOrDefault(p => p.Transition);

    public LivePatch? FindPatch(string name) => Patches.FirstOrDefault(p => p.Name == name);
}

/// <summary>How far the running transition has come: the tasks still in the old state, of all tasks.</summary>
/// <param name="TasksTotal">Every task /proc shows (the per-CPU idle tasks are not there).</param>
/// <param name="TasksPending">Tasks whose patch_state is not yet the transition's target.</param>
public sealed record TransitionProgress(int TasksTotal, int TasksPending)
{
    public int TasksSwitched => TasksTotal - TasksPending;
}

/// <summary>A loaded live patch module without a /sys/kernel/livepatch directory.</summary>
public sealed record LeftoverModule(string Name, ModuleFacts Module);

/// <summary>A value that could not be read or parsed.</summary>
public sealed record ReadProblem(string Path, string Message);

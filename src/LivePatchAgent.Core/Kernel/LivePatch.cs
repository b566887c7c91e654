using System.Collections.Immutable;

namespace LivePatchAgent.Core.Kernel;

/// <summary>
/// One registered live patch, as read from /sys/kernel/livepatch/&lt;name&gt; in one snapshot.
/// </summary>
public sealed record LivePatch
{
    public required string Name { get; init; }

    public required bool Enabled { get; init; }

    public required bool Transition { get; init; }

    /// <summary>The <c>replace</c> attribute (6.11+); null when the kernel has no such attribute.</summary>
    public bool? Replace { get; init; }

    /// <summary>
    /// The patch's 1-based position in the kernel's stack of patches (1 = loaded first; the highest serves a function
    /// several patches replace); null when unknown. Linux 6.14+ says it in <c>stack_order</c>; on older kernels it is
    /// the order the modules were loaded in (/proc/modules lists them newest first). <see cref="StackOrderSource"/>
    /// says which.
    /// </summary>
    public int? StackOrder { get; init; }

    /// <summary>Where <see cref="StackOrder"/> comes from.</summary>
    public StackOrderSource StackOrderSource { get; init; }

    public ImmutableArray<PatchObject> Objects { get; init; } = [];

    /// <summary>Facts from /sys/module/&lt;name&gt;; null when that directory could not be read.</summary>
    public ModuleFacts? Module { get; init; }

    public PatchState State => (Enabled, Transition) switch
    {
        (true, false) => PatchState.Enabled,
        (true, true) => PatchState.Enabling,
        (false, true) => PatchState.Disabling,
        (false, false) => PatchState.Disabled,
    };

    /// <summary>Every function the patch replaces, with the object it belongs to.</summary>
    public IEnumerable<(PatchObject Object, PatchFunction Function)> Functions =>
        Objects.SelectMany(o => o.Functions.Select(f => (o, f)));
}

/// <summary>Where a patch's stack position was learnt.</summary>
public enum StackOrderSource
{
    /// <summary>Not known: neither the attribute nor the module list could be read.</summary>
    Unknown,

    /// <summary>The kernel's <c>stack_order</c> attribute (Linux 6.14+).</summary>
    Sysfs,

    /// <summary>The order the patch modules were loaded in, from /proc/modules (the kernel registers them in that order).</summary>
    ModuleLoadOrder,
}

/// <summary>A patched object: "vmlinux" or a module name.</summary>
public sealed record PatchObject
{
    public required string Name { get; init; }

    /// <summary>The <c>patched</c> attribute (6.1+); null when absent.</summary>
    public bool? Patched { get; init; }

    public ImmutableArray<PatchFunction> Functions { get; init; } = [];
}

/// <summary>A replaced function, from a directory named <c>&lt;function&gt;,&lt;sympos&gt;</c>.</summary>
public sealed record PatchFunction(string Name, int Sympos);

/// <summary>Facts about a module from /sys/module/&lt;name&gt;; each null when unreadable.</summary>
public sealed record ModuleFacts
{
    public int? RefCount { get; init; }

    public string? Taint { get; init; }

    public string? SrcVersion { get; init; }

    public string? InitState { get; init; }
}

/// <summary>The state of a patch derived from its attributes (and, for Stalled, from the supervisor).</summary>
public enum PatchState
{
    Enabled,
    Enabling,
    Disabling,
    Disabled,
    Stalled,
}

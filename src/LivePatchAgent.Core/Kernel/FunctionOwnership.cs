using System.Collections.Immutable;

namespace LivePatchAgent.Core.Kernel;

/// <summary>
/// Which patch serves each patched function now. Several non-replace patches may replace the same function; the
/// kernel stacks them, and a call runs the version of the newest enabled patch whose object is patched (the top of
/// that function's ops stack). The others are hidden for that function until it is removed.
/// </summary>
public static class FunctionOwnership
{
    /// <summary>For every function a patch of <paramref name="snapshot"/> replaces: the patch whose version runs.</summary>
    public static ImmutableDictionary<PatchedFunction, string> Serving(KernelSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var serving = ImmutableDictionary.CreateBuilder<PatchedFunction, string>();
        if (snapshot.Patches.Any(p => p.StackOrderSource == StackOrderSource.Unknown))
        {
            // Without the stacking order no answer is better than a guess.
            return serving.ToImmutable();
        }

        // Patches are in stack order, bottom first: a later one replaces the entry of an earlier one.
        foreach (var patch in snapshot.Patches.Where(p => p.Enabled))
        {
            foreach (var (obj, function) in patch.Functions)
            {
                if (obj.Patched != false)
                {
                    serving[new PatchedFunction(obj.Name, function.Name, function.Sympos)] = patch.Name;
                }
            }
        }

        return serving.ToImmutable();
    }

    /// <summary>
    /// The functions of <paramref name="patch"/> for which another patch runs instead, each with that patch;
    /// empty when the order is unknown or nothing hides it.
    /// </summary>
    public static ImmutableArray<(PatchedFunction Function, string HiddenBy)> Hidden(KernelSnapshot snapshot, LivePatch patch)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(patch);
        if (patch.StackOrderSource == StackOrderSource.Unknown)
        {
            return [];
        }

        var serving = Serving(snapshot);
        return
        [
            .. patch.Functions
                .Select(f => new PatchedFunction(f.Object.Name, f.Function.Name, f.Function.Sympos))
                .Where(f => serving.TryGetValue(f, out var by) && by != patch.Name)
                .Select(f => (f, serving[f])),
        ];
    }
}

/// <summary>A replaced function: its object ("vmlinux" or a module), name and symbol position.</summary>
public readonly record struct PatchedFunction(string ObjectName, string Function, int Sympos)
{
    public override string ToString() => Sympos > 1 ? $"{ObjectName}:{Function},{Sympos}" : $"{ObjectName}:{Function}";
}

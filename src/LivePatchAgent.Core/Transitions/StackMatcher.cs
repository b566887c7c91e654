using System.Collections.Immutable;
using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Core.Transitions;

/// <summary>
/// Finds which of a transition's functions holds a blocked thread, by matching its kernel stack against the
/// patch's function list. A thread is held when one of the functions being (un)patched, or the patch's own
/// replacement code, is on its stack: the kernel's stack check refuses to switch it until that frame is gone.
/// </summary>
public static class StackMatcher
{
    /// <summary>Returns the first (innermost) matching frame, or null when none matches.</summary>
    public static StackMatch? Match(ImmutableArray<string> stack, LivePatch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var functions = patch.Functions.ToLookup(f => f.Function.Name, f => f.Object.Name, StringComparer.Ordinal);
        foreach (var frame in stack)
        {
            if (ParseFrame(frame) is not { } parsed)
            {
                continue;
            }

            // The patch module's own frames: the thread runs the new code (it entered after patching began).
            if (parsed.Module == patch.Name)
            {
                return new StackMatch(parsed.Function, patch.Name, frame, IsReplacement: true);
            }

            foreach (var obj in functions[parsed.Function])
            {
                var frameObject = parsed.Module ?? "vmlinux";
                if (frameObject == obj)
                {
                    return new StackMatch(parsed.Function, obj, frame, IsReplacement: false);
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Parses one /proc/&lt;pid&gt;/stack line: "[&lt;0&gt;] name+0x72/0xf0 [module]" (the address is hidden as 0
    /// without kptr access). Returns the function and the module (null for vmlinux).
    /// </summary>
    public static (string Function, string? Module)? ParseFrame(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var text = line.AsSpan().Trim();
        if (text.StartsWith("[<"))
        {
            var end = text.IndexOf("] ");
            if (end < 0)
            {
                return null;
            }

            text = text[(end + 2)..].TrimStart();
        }

        string? module = null;
        var bracket = text.IndexOf(" [");
        if (bracket >= 0 && text.EndsWith("]"))
        {
            module = text[(bracket + 2)..^1].ToString();
            text = text[..bracket];
        }

        var plus = text.IndexOf('+');
        var name = (plus >= 0 ? text[..plus] : text).Trim();
        return name.IsEmpty ? null : (name.ToString(), module);
    }
}

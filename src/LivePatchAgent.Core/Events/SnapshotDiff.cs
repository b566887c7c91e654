using System.Globalization;
using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Core.Events;

/// <summary>
/// Turns two consecutive snapshots into the events that explain the difference. Pure: the time of every event
/// is the time the newer snapshot was taken.
/// </summary>
public static class SnapshotDiff
{
    public static IReadOnlyList<AgentEvent> Compute(KernelSnapshot previous, KernelSnapshot current)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);

        var events = new List<AgentEvent>();
        var at = current.TakenAt;

        if (current.Kernel.IsDifferentKernelFrom(previous.Kernel))
        {
            events.Add(new AgentEvent
            {
                Time = at,
                Kind = AgentEventKind.KernelChanged,
                KernelRelease = current.Kernel.Release,
                Message = Invariant($"kernel changed: {previous.Kernel.Release ?? "unknown"} -> {current.Kernel.Release ?? "unknown"} (boot {current.Kernel.BootId ?? "unknown"})"),
            });
        }

        if (current.Kernel.LivepatchSupported != previous.Kernel.LivepatchSupported)
        {
            events.Add(new AgentEvent
            {
                Time = at,
                Kind = AgentEventKind.SupportChanged,
                Message = current.Kernel.LivepatchSupported
                    ? "livepatch support appeared (/sys/kernel/livepatch exists)"
                    : "livepatch support disappeared (/sys/kernel/livepatch is gone)",
            });
        }

        if (current.Kernel.Taint is { } newTaint && previous.Kernel.Taint is { } oldTaint && newTaint != oldTaint)
        {
            events.Add(new AgentEvent
            {
                Time = at,
                Kind = AgentEventKind.TaintChanged,
                Message = Invariant($"kernel taint changed: {oldTaint} -> {newTaint}"),
            });
        }

        var before = previous.Patches.ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (var patch in current.Patches)
        {
            if (before.Remove(patch.Name, out var old))
            {
                AddPatchChanges(events, at, old, patch);
            }
            else
            {
                events.Add(PatchEvent(at, AgentEventKind.PatchAppeared, patch.Name, null, patch.State,
                    Invariant($"patch {patch.Name} appeared ({Describe(patch.State)})")));
                if (patch.Transition)
                {
                    events.Add(PatchEvent(at, AgentEventKind.TransitionStarted, patch.Name, null, patch.State,
                        Invariant($"patch {patch.Name}: {(patch.Enabled ? "patching" : "unpatching")} transition started")));
                }
                else if (patch.Enabled)
                {
                    // A patch only registers by starting its patching transition; seen enabled and settled, the
                    // whole transition happened between two polls (often in milliseconds). Say so, rather than
                    // letting a watcher wait for a start it will never see.
                    events.Add(PatchEvent(at, AgentEventKind.TransitionStarted, patch.Name, null, PatchState.Enabling,
                        Invariant($"patch {patch.Name}: patching transition started")));
                    events.Add(PatchEvent(at, AgentEventKind.TransitionCompleted, patch.Name, PatchState.Enabling, PatchState.Enabled,
                        Invariant($"patch {patch.Name}: patching transition completed, now enabled (between two polls)")));
                }
            }
        }

        foreach (var gone in before.Values)
        {
            var last = gone.State;
            if (gone.Transition)
            {
                // A patch whose directory vanishes mid-transition finished it: a completed disable or a reversed
                // enable frees the patch.
                events.Add(PatchEvent(at, AgentEventKind.TransitionCompleted, gone.Name, gone.State, PatchState.Disabled,
                    Invariant($"patch {gone.Name}: {(gone.Enabled ? "patching" : "unpatching")} transition ended, now disabled")));
                last = PatchState.Disabled;
            }

            events.Add(PatchEvent(at, AgentEventKind.PatchRemoved, gone.Name, last, null,
                Invariant($"patch {gone.Name} removed from /sys/kernel/livepatch")));
        }

        return events;
    }

    private static void AddPatchChanges(List<AgentEvent> events, DateTimeOffset at, LivePatch old, LivePatch now)
    {
        if (old.Transition && now.Transition && old.Enabled != now.Enabled)
        {
            events.Add(PatchEvent(at, AgentEventKind.TransitionReversed, now.Name, old.State, now.State,
                Invariant($"patch {now.Name}: transition reversed, now {(now.Enabled ? "patching" : "unpatching")}")));
            return;
        }

        if (old.Enabled && !now.Enabled)
        {
            events.Add(PatchEvent(at, AgentEventKind.PatchDisabled, now.Name, old.State, now.State,
                Invariant($"patch {now.Name} disabled")));
        }

        if (!old.Transition && now.Transition)
        {
            events.Add(PatchEvent(at, AgentEventKind.TransitionStarted, now.Name, old.State, now.State,
                Invariant($"patch {now.Name}: {(now.Enabled ? "patching" : "unpatching")} transition started")));
        }
        else if (old.Transition && !now.Transition)
        {
            events.Add(PatchEvent(at, AgentEventKind.TransitionCompleted, now.Name, old.State, now.State,
                Invariant($"patch {now.Name}: {(old.Enabled ? "patching" : "unpatching")} transition completed, now {Describe(now.State)}")));
        }
    }

    private static AgentEvent PatchEvent(DateTimeOffset at, AgentEventKind kind, string patch, PatchState? from, PatchState? to, string message) =>
        new()
        {
            Time = at,
            Kind = kind,
            Patch = patch,
            FromState = from,
            ToState = to,
            Message = message,
        };

    public static string Describe(PatchState state) => state switch
    {
        PatchState.Enabled => "enabled",
        PatchState.Enabling => "enabling",
        PatchState.Disabling => "disabling",
        PatchState.Disabled => "disabled",
        PatchState.Stalled => "stalled",
        _ => state.ToString(),
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

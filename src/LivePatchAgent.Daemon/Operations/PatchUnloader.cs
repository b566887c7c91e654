using LivePatchAgent.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Transitions;
using LivePatchAgent.Linux.Sysfs;

namespace LivePatchAgent.Daemon.Operations;

/// <summary>
/// The unload operation: disable the patch (which also reverses its own enabling transition if that still runs),
/// follow the unpatching transition until the patch is gone, then remove its module once the kernel lets go of it.
/// A leftover module (replaced or disabled, still loaded) is just removed. A module a forced transition pinned is
/// refused, since the kernel keeps its reference until reboot.
/// </summary>
internal sealed class PatchUnloader(
    OperationRunner runner,
    KernelSteps steps,
    LivepatchControl control,
    PinStore pins,
    TransitionInterventions interventions,
    EventHub hub,
    TimeProvider timeProvider,
    ILogger<PatchUnloader> logger)
{
    public OperationHandle Start(string requestedName, TimeSpan? timeout, Caller caller)
    {
        var name = PatchNames.Valid(requestedName);
        return runner.Start(new OperationRequest(OperationKind.Unload, name, caller, timeout) { FirstMessage = $"unloading {name}" },
            context => RunAsync(name, context));
    }

    private async Task<OperationEnd> RunAsync(string name, OperationContext context)
    {
        var started = timeProvider.GetTimestamp();
        var view = steps.Watcher.PollOnce();
        var patch = view.Snapshot.FindPatch(name);
        var leftover = patch is null && view.Snapshot.Leftovers.Any(l => l.Name == name);
        if (patch is null && !leftover)
        {
            throw new AgentException(ErrorReason.PatchNotFound, $"patch \"{name}\" is not loaded");
        }

        if (pins.Find(name) is { } pin)
        {
            throw new AgentException(ErrorReason.ForcedModulePinned,
                $"module {name} is pinned until reboot: the {pin.Reason} of {pin.ForcedPatch} was forced at {pin.ForcedAt:u} by {pin.Caller}, and the kernel keeps a forced module's reference");
        }

        UnloadDetail Detail() => new(name, leftover, timeProvider.GetElapsedTime(started));
        if (patch is not null)
        {
            if (await DisableAsync(name, patch, context).ConfigureAwait(false) is { } end)
            {
                return end with { Detail = Detail() };
            }
        }

        context.Phase(OperationPhase.Removing, $"removing the module {name}");
        context.Acting();
        await steps.RemoveModuleAsync(name, context).ConfigureAwait(false);
        steps.Watcher.PollOnce();
        return OperationContext.End(OperationResultKind.Completed, leftover ? $"removed leftover module {name}" : $"unloaded {name}", Detail());
    }

    /// <summary>Disables the patch and waits until it is gone; a result when it did not get there.</summary>
    private async Task<OperationEnd?> DisableAsync(string name, LivePatch patch, OperationContext context)
    {
        var startedAt = timeProvider.GetUtcNow();
        // Already unpatching (someone wrote 0, or a reversal): only wait. Otherwise write 0, which also reverses
        // this patch's own enabling transition if it is still running.
        if (patch.Enabled)
        {
            await steps.RetryWhileBusyAsync(name, "unload", () => steps.Gate.MutateAsync(() =>
            {
                var current = steps.Watcher.PollOnce().Snapshot.FindPatch(name);
                if (current is { Enabled: true, Transition: true })
                {
                    interventions.Record(new TransitionIntervention(name, Patching: true, InterventionKind.Disable, context.Caller.Description, timeProvider.GetUtcNow()));
                }

                var outcome = control.SetEnabled(name, false, out var error);
                if (outcome is not (LivepatchControl.Outcome.Done or LivepatchControl.Outcome.Gone or LivepatchControl.Outcome.Invalid))
                {
                    throw KernelErrors.ForControl(outcome, error, "disable", name);
                }

                context.Acting();
                if (current is { Enabled: true, Transition: true })
                {
                    Publish(AgentEventKind.TransitionReverted, name, $"{context.Caller} reversed the patching transition of {name} by unloading it");
                }
            }, context.Stop), context).ConfigureAwait(false);

            // The view must show the write before the wait below judges it (an idle, enabled patch would read as
            // "enabled again").
            steps.Watcher.PollOnce();
        }

        context.Phase(OperationPhase.Unpatching, $"unpatching {name}");
        var (ended, after) = await steps.WaitAsync(v => v.Snapshot.FindPatch(name) is null or { Enabled: true, Transition: false }, context).ConfigureAwait(false);
        if (!ended)
        {
            return OperationContext.End(OperationResultKind.StillRunning,
                $"{name} is disabled but its unpatching transition is still running after {context.Timeout.TotalSeconds:F0} s (see lpctl blocking)",
                reason: ErrorReason.TransitionTimeout);
        }

        if (after.Snapshot.FindPatch(name) is { Enabled: true })
        {
            var by = interventions.Ending(name, patching: false, startedAt)?.By ?? "a write to its enabled attribute that livepatchd did not make";
            return new OperationEnd(new OperationResult(OperationResultKind.Reversed, ErrorReason.TransitionReversed,
                $"the unpatching transition of {name} was reversed by {by}: it is enabled again") { By = by }, null);
        }

        return null;
    }

    private void Publish(AgentEventKind kind, string patch, string message)
    {
        foreach (var e in hub.Publish([new AgentEvent { Time = timeProvider.GetUtcNow(), Kind = kind, Patch = patch, Message = message }]))
        {
            Log.KernelEvent(logger, e.Message);
        }
    }
}

/// <summary>What an unload did.</summary>
internal sealed record UnloadDetail(string Name, bool WasLeftover, TimeSpan Elapsed) : OperationDetail;

/// <summary>Patch names as requests give them: checked against the kernel's module-name rules, '-' read as '_'.</summary>
internal static class PatchNames
{
    public static string Valid(string requested) => ModuleName.Validate(requested) is { } problem
        ? throw new AgentException(ErrorReason.InvalidArgument, $"invalid patch name: {problem}")
        : ModuleName.Normalize(requested);
}

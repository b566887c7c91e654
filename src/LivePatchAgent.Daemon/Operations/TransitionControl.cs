using System.Collections.Immutable;
using System.Globalization;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Transitions;
using LivePatchAgent.Linux.Native;
using LivePatchAgent.Linux.Procfs;
using LivePatchAgent.Linux.Sysfs;

namespace LivePatchAgent.Daemon.Operations;

/// <summary>
/// Acting on a running transition: revert (write the opposite value to <c>enabled</c>), force (write <c>force</c>,
/// and record the modules the kernel pins for it) and kick (SIGSTOP+SIGCONT the blocked user tasks, or write
/// <c>signal</c> on 4.16-5.0 kernels). Each act is recorded as an intervention first, so the end of the transition is
/// reported as what it was, to the supervisor and to an operation waiting for it.
/// </summary>
internal sealed class TransitionControl(
    OperationRunner runner,
    KernelSteps steps,
    LivepatchControl control,
    ITaskSignaller signaller,
    BlockingTaskScanner scanner,
    PinStore pins,
    TransitionInterventions interventions,
    EventHub hub,
    TimeProvider timeProvider,
    ILogger<TransitionControl> logger)
{
    /// <summary>Reverses the running transition of a patch; a reversed enable then has its module removed.</summary>
    /// <param name="requestedName">The patch.</param>
    /// <param name="timeout">The request's deadline; null for Limits:OperationTimeout.</param>
    /// <param name="caller">Who asked.</param>
    /// <param name="by">How the act is named in reports; the caller's description when null.</param>
    public OperationHandle StartRevert(string requestedName, TimeSpan? timeout, Caller caller, string? by = null)
    {
        var name = PatchNames.Valid(requestedName);
        return runner.Start(new OperationRequest(OperationKind.Revert, name, caller, timeout) { FirstMessage = $"reverting the transition of {name}" },
            context => RevertAsync(name, by ?? caller.Description, context));
    }

    /// <summary>Forces the running transition of a patch to complete; refused without <paramref name="confirmed"/>.</summary>
    public OperationHandle StartForce(string requestedName, bool confirmed, Caller caller, string? by = null)
    {
        var name = PatchNames.Valid(requestedName);
        if (!confirmed)
        {
            throw new AgentException(ErrorReason.ConfirmationRequired,
                $"forcing {name} needs confirmation: tasks still inside the old code keep running it, and a forced unpatch or replace pins modules so they can never be unloaded until reboot");
        }

        return runner.Start(new OperationRequest(OperationKind.Force, name, caller, null) { FirstMessage = $"forcing the transition of {name}" },
            context => ForceAsync(name, by ?? caller.Description, context));
    }

    /// <summary>Kicks the blocked user tasks of the running transition.</summary>
    public OperationHandle StartKick(string requestedName, Caller caller, string? by = null)
    {
        var name = PatchNames.Valid(requestedName);
        return runner.Start(new OperationRequest(OperationKind.Kick, name, caller, null) { FirstMessage = $"kicking the tasks that block {name}" },
            context => KickAsync(name, by ?? caller.Description, context));
    }

    private async Task<OperationEnd> RevertAsync(string name, string by, OperationContext context)
    {
        var (patch, elapsed) = await steps.Gate.MutateAsync(() =>
        {
            var current = TransitioningPatch(name, "revert");
            var now = timeProvider.GetUtcNow();
            var running = steps.Current.Transition is { } t && t.Patch == name ? t.ElapsedAt(now) : TimeSpan.Zero;
            interventions.Record(new TransitionIntervention(name, current.Enabled, InterventionKind.Revert, by, now));
            var outcome = control.SetEnabled(name, !current.Enabled, out var error);
            if (outcome is not (LivepatchControl.Outcome.Done or LivepatchControl.Outcome.Invalid or LivepatchControl.Outcome.Gone))
            {
                throw KernelErrors.ForControl(outcome, error, "revert", name);
            }

            return (current, running);
        }, context.Stop).ConfigureAwait(false);
        context.Acting();
        // Announced before the poll that sees what it caused: a reversal the kernel finishes at once would
        // otherwise show its transition-completed and patch-removed before the act that caused them.
        Publish(AgentEventKind.TransitionReverted, name,
            $"{by} reverted the {(patch.Enabled ? "patching" : "unpatching")} transition of {name}", elapsed);
        steps.Watcher.PollOnce();

        if (!patch.Enabled)
        {
            context.Phase(OperationPhase.Patching, $"waiting for {name} to be patched again");
            var (back, _) = await steps.WaitAsync(v => v.Snapshot.FindPatch(name) is not { Transition: true }, context).ConfigureAwait(false);
            return back
                ? OperationContext.End(OperationResultKind.Completed, $"reverted {name}: the unpatching transition was reversed; {name} is enabled again", new RevertDetail(name, ModuleRemoved: false))
                : OperationContext.End(OperationResultKind.StillRunning, $"reversing {name}, but the reversed transition is still running after {context.Timeout.TotalSeconds:F0} s (see lpctl blocking)", new RevertDetail(name, false), ErrorReason.TransitionTimeout);
        }

        // A reversed enable ends with the patch freed; then its module is unloaded like any other.
        context.Phase(OperationPhase.Unpatching, $"waiting for the reversed transition of {name} to end");
        var (gone, _) = await steps.WaitAsync(v => v.Snapshot.FindPatch(name) is null, context).ConfigureAwait(false);
        if (!gone)
        {
            return OperationContext.End(OperationResultKind.StillRunning,
                $"reversing {name}, but the reversed transition is still running after {context.Timeout.TotalSeconds:F0} s (see lpctl blocking)", new RevertDetail(name, false), ErrorReason.TransitionTimeout);
        }

        context.Phase(OperationPhase.Removing, $"removing the module {name}");
        await steps.RemoveModuleAsync(name, context).ConfigureAwait(false);
        steps.Watcher.PollOnce();
        return OperationContext.End(OperationResultKind.Completed, $"reverted {name}: the patching transition was reversed and the module removed", new RevertDetail(name, ModuleRemoved: true));
    }

    private async Task<OperationEnd> ForceAsync(string name, string by, OperationContext context)
    {
        AgentView before = null!;
        LivePatch patch = null!;
        ImmutableArray<string> oldCode = [];
        await steps.Gate.MutateAsync(() =>
        {
            before = steps.Watcher.PollOnce();
            patch = TransitioningPatch(name, "force");
            // The tasks still blocking now are the ones a force leaves in the old code: name them before acting.
            var scan = scanner.Scan(patch.Enabled, patch, includeStacks: false);
            oldCode = [.. scan.Tasks.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Comm} (pid {t.Pid}{(t.Tid != t.Pid ? $", tid {t.Tid}" : string.Empty)})"))];
            interventions.Record(new TransitionIntervention(name, patch.Enabled, InterventionKind.Force, by, timeProvider.GetUtcNow()) { OldCodeTasks = oldCode });
            var outcome = control.Force(name, out var error);
            if (outcome is LivepatchControl.Outcome.Invalid or LivepatchControl.Outcome.Gone)
            {
                throw new AgentException(ErrorReason.NoTransition, $"{name} finished its transition before it could be forced");
            }

            if (outcome is not LivepatchControl.Outcome.Done)
            {
                throw KernelErrors.ForControl(outcome, error, "force", name);
            }
        }, context.Stop).ConfigureAwait(false);
        context.Acting();
        var stall = before.Stall?.Summary ?? "not diagnosed";

        // The kernel completes a forced transition at its next periodic check, about a second later.
        context.Phase(patch.Enabled ? OperationPhase.Patching : OperationPhase.Unpatching, $"waiting for the forced transition of {name} to complete");
        var (completed, after) = await steps.WaitAsync(v => v.Snapshot.FindPatch(name) is not { Transition: true }, context).ConfigureAwait(false);
        if (completed && patch.Enabled && before.Snapshot.Patches.Any(p => p.Name != name))
        {
            // The kernel clears `transition` before its work queue frees the patches a replace displaced; give that
            // a moment, so the pins are read from the settled tree. A plain (non-replace) patch leaves the others in
            // place, and this wait simply runs out.
            (_, after) = await steps.WaitAtMostAsync(
                v => before.Snapshot.Patches.All(p => p.Name == name || v.Snapshot.FindPatch(p.Name) is null), TimeSpan.FromSeconds(2), context).ConfigureAwait(false);
        }

        var pinned = PinnedByForce(before, after, patch);
        var bootId = after.Snapshot.Kernel.BootId ?? "unknown";
        var reason = patch.Enabled ? "patching transition" : "unpatching transition";
        pins.Add(pinned.Select(m => new ModulePin(m, bootId, timeProvider.GetUtcNow(), name, by, reason, stall)));
        interventions.Record(new TransitionIntervention(name, patch.Enabled, InterventionKind.Force, by, timeProvider.GetUtcNow()) { OldCodeTasks = oldCode, Pinned = [.. pinned] });
        var message = (pinned.Count == 0
                ? $"forced the {reason} of {name}; no module is pinned"
                : $"forced the {reason} of {name}; pinned until reboot: {string.Join(", ", pinned)}")
            + (oldCode.IsEmpty ? string.Empty : $"; tasks that may still run the old code: {string.Join("; ", oldCode)}");
        Publish(AgentEventKind.TransitionForced, name, $"{by} {message}", null);
        var detail = new ForceDetail(name, [.. pinned]);
        var result = new OperationResult(completed ? OperationResultKind.Completed : OperationResultKind.StillRunning, completed ? null : ErrorReason.TransitionTimeout, message)
        {
            By = by,
            OldCodeTasks = oldCode,
            Pinned = [.. pinned],
        };
        return new OperationEnd(result, detail);
    }

    private async Task<OperationEnd> KickAsync(string name, string by, OperationContext context)
    {
        var detail = await steps.Gate.MutateAsync(() => Kick(name, by), context.Stop).ConfigureAwait(false);
        context.Acting();
        Publish(AgentEventKind.TasksKicked, name, detail.Message, null);
        return OperationContext.End(OperationResultKind.Completed, detail.Message, detail);
    }

    private KickDetail Kick(string name, string by)
    {
        var patch = TransitioningPatch(name, "kick");
        interventions.Record(new TransitionIntervention(name, patch.Enabled, InterventionKind.Kick, by, timeProvider.GetUtcNow()));
        if (control.HasSignalAttribute(name))
        {
            var result = control.Signal(name, out var error);
            if (result is not LivepatchControl.Outcome.Done)
            {
                throw new AgentException(result == LivepatchControl.Outcome.Denied ? ErrorReason.KernelRefused : ErrorReason.Internal, $"cannot signal the tasks of {name}: {error}");
            }

            return new KickDetail(name, [], 0, "signal-attribute", $"the kernel fake-signalled the blocked tasks of {name}");
        }

        var scan = scanner.Scan(patch.Enabled, patch, includeStacks: false);
        var kernelThreads = scan.Tasks.Count(t => t.IsKernelThread);
        var kicked = new List<int>();
        foreach (var pid in scan.Tasks.Where(t => !t.IsKernelThread).Select(t => t.Pid).Distinct().Order())
        {
            if (signaller.StopAndContinue(pid) == 0)
            {
                kicked.Add(pid);
            }
        }

        return new KickDetail(name, [.. kicked], kernelThreads, "sigstop-sigcont",
            $"kicked {kicked.Count} process(es) blocking {name} with SIGSTOP+SIGCONT" + (kernelThreads > 0 ? $"; {kernelThreads} kernel thread(s) cannot be kicked" : string.Empty));
    }

    private LivePatch TransitioningPatch(string name, string verb)
    {
        var view = steps.Watcher.PollOnce();
        var patch = view.Snapshot.FindPatch(name)
            ?? throw new AgentException(ErrorReason.PatchNotFound, $"patch \"{name}\" is not loaded");
        return patch.Transition
            ? patch
            : throw new AgentException(ErrorReason.NoTransition, $"cannot {verb} {name}: it is not in transition ({Core.Events.SnapshotDiff.Describe(patch.State)})");
    }

    private static List<string> PinnedByForce(AgentView before, AgentView after, LivePatch patch)
    {
        var release = before.Snapshot.Kernel.Release;
        if (release is not null && KernelVersionBefore(release, 5, 18))
        {
            // Before 5.18 the kernel marked every patch on its list as forced.
            return [.. before.Snapshot.Patches.Select(p => p.Name)];
        }

        if (!patch.Enabled)
        {
            return [patch.Name];
        }

        // A forced patching transition marks the patches it replaces; they are the ones that vanished with it.
        return [.. before.Snapshot.Patches.Where(p => p.Name != patch.Name && after.Snapshot.FindPatch(p.Name) is null).Select(p => p.Name)];
    }

    private static bool KernelVersionBefore(string release, int major, int minor)
    {
        var parts = release.Split('.', '-');
        return parts.Length >= 2 && int.TryParse(parts[0], CultureInfo.InvariantCulture, out var ma)
            && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var mi)
            && (ma < major || (ma == major && mi < minor));
    }

    private void Publish(AgentEventKind kind, string patch, string message, TimeSpan? elapsed)
    {
        foreach (var e in hub.Publish([new AgentEvent { Time = timeProvider.GetUtcNow(), Kind = kind, Patch = patch, Message = message, Elapsed = elapsed }]))
        {
            Log.KernelEvent(logger, e.Message);
        }
    }
}

/// <summary>What a revert did.</summary>
internal sealed record RevertDetail(string Name, bool ModuleRemoved) : OperationDetail;

/// <summary>What a force pinned.</summary>
internal sealed record ForceDetail(string Name, ImmutableArray<string> Pinned) : OperationDetail;

/// <summary>What a kick did.</summary>
internal sealed record KickDetail(string Name, ImmutableArray<int> KickedPids, int KernelThreadsSkipped, string Method, string Message) : OperationDetail;

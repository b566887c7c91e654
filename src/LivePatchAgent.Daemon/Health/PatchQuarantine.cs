using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Health;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Daemon.Store;

namespace LivePatchAgent.Daemon.Health;

/// <summary>
/// The guard's act and its undo, as operations like any other (journalled, with events). Quarantine: record the
/// patch in the quarantine store first (so a crash half-way never lets start-up apply load it again), unload it as a
/// child unload operation, and, if it was cumulative, re-apply the last known good installed patch through apply
/// (which now skips the quarantined one). Release: take a patch out of the quarantine store.
/// </summary>
internal sealed class PatchQuarantine(
    OperationRunner runner,
    PatchUnloader unloader,
    PatchApplier applier,
    PatchStore patchStore,
    QuarantineStore quarantine,
    StateStore state,
    EventHub hub,
    TimeProvider timeProvider,
    ILogger<PatchQuarantine> logger)
{
    /// <summary>Starts taking <paramref name="entry"/>'s patch out.</summary>
    public OperationHandle StartQuarantine(QuarantineEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var caller = Caller.Daemon with { Description = entry.By };
        return runner.Start(new OperationRequest(OperationKind.Quarantine, entry.Name, caller, null) { FirstMessage = $"taking {entry.Name} out: kernel {KernelReport.Name(entry.Kind)}" },
            context => QuarantineAsync(entry, context));
    }

    /// <summary>Starts releasing <paramref name="requestedName"/> (an administrator's request).</summary>
    public OperationHandle StartRelease(string requestedName, Caller caller)
    {
        var name = PatchNames.Valid(requestedName);
        return runner.Start(new OperationRequest(OperationKind.Release, name, caller, null) { FirstMessage = $"releasing {name} from quarantine" },
            context =>
            {
                context.Acting();
                if (quarantine.Remove(name) is not { } removed)
                {
                    throw new AgentException(ErrorReason.NotQuarantined, $"{name} is not quarantined (lpctl quarantine list shows the quarantined patches)");
                }

                HealthLog.Released(logger, name, caller.Description);
                var message = $"released {name} from quarantine (it was quarantined at {removed.QuarantinedAt:u} for a kernel {KernelReport.Name(removed.Kind)}); start-up apply and lpctl apply load it again";
                Publish(AgentEventKind.QuarantineReleased, name, message);
                return Task.FromResult(OperationContext.End(OperationResultKind.Completed, message));
            });
    }

    private async Task<OperationEnd> QuarantineAsync(QuarantineEntry entry, OperationContext context)
    {
        var name = entry.Name;
        var view = state.Current;
        var sha256 = view.LoadedPatches.TryGetValue(name, out var record) ? record.Sha256 : null;
        var installed = view.Snapshot.Kernel.Release is { } release ? patchStore.Find(release, name) : null;
        var cumulative = view.Snapshot.FindPatch(name)?.Replace == true || installed?.IsCumulative == true;

        context.Acting();
        var kept = entry with { Sha256 = sha256 ?? installed?.Sha256, OperationId = context.Id };
        quarantine.Add(kept);
        HealthLog.Quarantined(logger, name, entry.By, kept.Reason);
        Publish(AgentEventKind.PatchQuarantined, name, $"{name} quarantined: {kept.Reason}");

        var unload = await ChildOperation.FollowAsync(context, unloader.Start(name, null, context.Caller), "unloading: ").ConfigureAwait(false);
        var unloaded = unload.Result!.Kind == OperationResultKind.Completed;
        if (!unloaded && unload.Result.Reason != ErrorReason.PatchNotFound)
        {
            HealthLog.RevertFailed(logger, name, unload.Result.Message);
            return new OperationEnd(new OperationResult(OperationResultKind.Failed, unload.Result.Reason ?? ErrorReason.Internal,
                $"{name} is quarantined, but unloading it failed (operation {unload.Id}): {unload.Result.Message}"), null);
        }

        var message = unloaded
            ? $"{name} unloaded (operation {unload.Id}) and quarantined after a kernel {KernelReport.Name(entry.Kind)} attributed by {Attribution.Name(entry.Basis)}"
            : $"{name} was already gone; quarantined after a kernel {KernelReport.Name(entry.Kind)} attributed by {Attribution.Name(entry.Basis)}";
        if (!cumulative)
        {
            return OperationContext.End(OperationResultKind.Completed, message);
        }

        // A cumulative patch replaced whatever ran before it: apply loads the newest installed cumulative patch that is
        // not quarantined, the last known good one (nothing when there is none).
        var apply = await ChildOperation.FollowAsync(context, applier.StartApply(resume: false, null, context.Caller), "re-applying the last known good patch: ").ConfigureAwait(false);
        var applied = (apply.Detail as ApplyDetail)?.Results.Where(r => r.Outcome == ApplyResultKind.Applied).Select(r => r.Name).ToList() ?? [];
        message += applied.Count > 0
            ? $"; re-applied the last known good patch {string.Join(", ", applied)} (operation {apply.Id})"
            : $"; no other installed cumulative patch to re-apply (operation {apply.Id}: {apply.Result!.Message})";
        return apply.Result!.Kind is OperationResultKind.Completed
            ? OperationContext.End(OperationResultKind.Completed, message)
            : new OperationEnd(new OperationResult(OperationResultKind.Failed, apply.Result.Reason ?? ErrorReason.Internal, message), null);
    }

    private void Publish(AgentEventKind kind, string patch, string message)
    {
        foreach (var e in hub.Publish([new AgentEvent { Time = timeProvider.GetUtcNow(), Kind = kind, Patch = patch, Message = message }]))
        {
            Log.KernelEvent(logger, e.Message);
        }
    }
}

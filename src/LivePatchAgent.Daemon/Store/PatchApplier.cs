using System.Collections.Immutable;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Operations;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// Apply: every installed patch of the running kernel that is not loaded, local or vendor, is re-verified in full
/// (a local one's hash against its manifest; for both, every check of a load, the signature included) and loaded as a child load operation, through the one writer. A patch
/// that fails is reported, and the others still load. Start-up apply is the same, run by the daemon at start and
/// when the kernel changes, honouring the kill switch and the crash-loop guard.
/// </summary>
internal sealed class PatchApplier(
    InstalledPatches patches,
    StartupApplyState startup,
    OperationRunner runner,
    PatchLoader loader,
    KernelSteps steps,
    StateStore state,
    Health.QuarantineStore quarantine,
    TimeProvider timeProvider,
    ILogger<PatchApplier> logger) : IDisposable
{
    private readonly SemaphoreSlim _applyGate = new(1, 1);

    public void Dispose() => _applyGate.Dispose();

    /// <summary>Starts an explicit apply (lpctl apply): refused while the crash-loop guard holds, unless <paramref name="resume"/>.</summary>
    public OperationHandle StartApply(bool resume, TimeSpan? timeout, Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return runner.Start(new OperationRequest(OperationKind.Apply, null, caller, timeout) { FirstMessage = "applying the installed patches" },
            context => ApplyAsync("lpctl apply", resume, context));
    }

    /// <summary>
    /// Start-up apply as the daemon runs it at start and when the kernel changes: the kill switch and the crash-loop
    /// guard are honoured, and the outcome becomes the status.
    /// </summary>
    public async Task RunStartupApplyAsync(string trigger, bool atStartup, CancellationToken cancellationToken)
    {
        var kernel = state.Current.Snapshot.Kernel;
        var (verdict, marker) = startup.Judge();
        if (verdict == GuardVerdict.InterruptedEarlierBoot)
        {
            startup.Interrupted(marker!);
            return;
        }

        if (startup.KillSwitchReason(atStartup) is { } killSwitch)
        {
            startup.SetStatus(new StartupApplyStatus(StartupApplyPhase.Disabled, killSwitch, null, kernel.Release, []));
            StoreLog.ApplyDisabled(logger, killSwitch);
            startup.Publish(new AgentEvent
            {
                Time = timeProvider.GetUtcNow(),
                Kind = AgentEventKind.StartupApplySkipped,
                Message = $"start-up apply is off ({killSwitch}); installed patches were not loaded",
            });
            return;
        }

        if (!kernel.LivepatchSupported)
        {
            startup.SetStatus(new StartupApplyStatus(StartupApplyPhase.Done, "the running kernel has no livepatch support", null, kernel.Release, []));
            return;
        }

        // Nothing to load (no installed patch, or all loaded already, e.g. at a daemon restart): report it, but do
        // not journal an operation that does nothing at every start.
        var problems = new List<string>();
        var installed = kernel.Release is { } running ? patches.List(running, problems) : [];
        var plan = Plan(installed);
        if (verdict != GuardVerdict.StaleThisBoot && plan.All(p => p.Decision != ApplyDecision.Load))
        {
            var results = plan.Select(NotLoaded).ToList();
            foreach (var skipped in results.Where(r => r.Outcome == ApplyResultKind.Quarantined))
            {
                Report(skipped);
            }

            startup.SetStatus(new StartupApplyStatus(StartupApplyPhase.Done, null, null, kernel.Release, [.. results]));
            StoreLog.ApplyStarted(logger, trigger, kernel.Release ?? "unknown", 0, installed.Count);
            return;
        }

        var handle = runner.Start(new OperationRequest(OperationKind.StartupApply, null, Caller.Daemon, null) { FirstMessage = $"start-up apply ({trigger})" },
            context => ApplyAsync(trigger, resume: false, context));
        using var stop = cancellationToken.Register(() => handle.RequestCancel());
        await handle.Completion.ConfigureAwait(false);
    }

    private async Task<OperationEnd> ApplyAsync(string trigger, bool resume, OperationContext context)
    {
        await _applyGate.WaitAsync(context.Stop).ConfigureAwait(false);
        try
        {
            var kernel = state.Current.Snapshot.Kernel;
            var (verdict, marker) = startup.Judge();
            var resumed = false;
            switch (verdict)
            {
                case GuardVerdict.InterruptedEarlierBoot when !resume:
                    startup.Interrupted(marker!);
                    throw new AgentException(ErrorReason.PreviousApplyInterrupted, StartupApplyState.InterruptedMessage(marker!) + "; run `lpctl apply --resume` to apply anyway");
                case GuardVerdict.InterruptedEarlierBoot:
                    startup.LiftGuard($"{context.Caller} resumed start-up apply", runApply: false);
                    resumed = true;
                    break;
                case GuardVerdict.StaleThisBoot:
                    StoreLog.StaleMarker(logger, marker!.Patch, marker.BootId);
                    startup.ClearMarker();
                    break;
            }

            if (kernel.Release is not { } release)
            {
                throw new AgentException(ErrorReason.Internal, "the running kernel's release is unknown, so its installed patches cannot be found");
            }

            if (!kernel.LivepatchSupported)
            {
                throw new AgentException(ErrorReason.LivepatchUnsupported, "the running kernel has no livepatch support, so no installed patch can be applied");
            }

            startup.SetStatus(new StartupApplyStatus(StartupApplyPhase.Running, null, null, release, []) { OperationId = context.Id });
            var problems = new List<string>();
            var installed = patches.List(release, problems, log: true);

            var plan = Plan(installed);
            var toLoad = plan.Count(p => p.Decision == ApplyDecision.Load);
            StoreLog.ApplyStarted(logger, trigger, release, toLoad, installed.Count);
            var results = new List<ApplyResultItem>();
            var index = 0;
            if (toLoad > 0)
            {
                // From here on the kernel may change: an error is a failure of the apply, not a refusal.
                context.Acting();
            }

            foreach (var planned in plan)
            {
                context.Stop.ThrowIfCancellationRequested();
                var result = planned.Decision == ApplyDecision.Load
                    ? await ApplyOneAsync(planned.Patch, $"{++index} of {toLoad}: ", context).ConfigureAwait(false)
                    : NotLoaded(planned);
                results.Add(result);
                Report(result);
            }

            startup.SetStatus(new StartupApplyStatus(StartupApplyPhase.Done, null, null, release, [.. results]) { OperationId = context.Id });
            var applied = results.Count(r => r.Outcome == ApplyResultKind.Applied);
            var failed = results.Count(r => r.Outcome == ApplyResultKind.Failed);
            var message = $"applied {applied} of {installed.Count} installed patch(es) for {release}"
                + (failed > 0 ? $"; {failed} failed: {string.Join("; ", results.Where(r => r.Outcome == ApplyResultKind.Failed).Select(r => $"{r.Name} ({r.Reason})"))}" : string.Empty)
                + (resumed ? " (resumed after an interrupted apply)" : string.Empty);
            StoreLog.ApplyFinished(logger, message);
            var detail = new ApplyDetail([.. results], resumed);
            return failed > 0
                ? new OperationEnd(new OperationResult(OperationResultKind.Failed, ErrorReason.Find(results.First(r => r.Outcome == ApplyResultKind.Failed).Reason ?? "internal") ?? ErrorReason.Internal, message), detail)
                : OperationContext.End(OperationResultKind.Completed, message, detail);
        }
        finally
        {
            _applyGate.Release();
        }
    }

    /// <summary>The plan for the running kernel's installed patches, with the quarantined ones held back.</summary>
    private IReadOnlyList<PlannedApply> Plan(IEnumerable<InstalledPatchManifest> installed) =>
        ApplyPlan.For(installed, n => state.Current.Snapshot.FindPatch(n) is not null, p => quarantine.Holding(p.Name, p.Sha256)?.Reason);

    /// <summary>The result of a planned patch that is not loaded.</summary>
    private static ApplyResultItem NotLoaded(PlannedApply planned) => planned.Decision switch
    {
        ApplyDecision.AlreadyLoaded => new ApplyResultItem(planned.Patch.Name, ApplyResultKind.AlreadyLoaded, null, $"{planned.Patch.Name} is already loaded"),
        ApplyDecision.Quarantined => new ApplyResultItem(planned.Patch.Name, ApplyResultKind.Quarantined, ErrorReason.PatchQuarantined.Code,
            $"{planned.Patch.Name} is not loaded: {planned.QuarantineReason}"),
        _ => new ApplyResultItem(planned.Patch.Name, ApplyResultKind.Superseded, null,
            $"{planned.Patch.Name} is superseded by the newer cumulative patch {planned.SupersededBy}; not loaded"),
    };

    private async Task<ApplyResultItem> ApplyOneAsync(InstalledPatchManifest patch, string prefix, OperationContext context)
    {
        var path = patch.Vendor?.ModulePath ?? patches.Local.ModulePath(patch.KernelRelease, patch.Name);
        byte[] bytes;
        try
        {
            bytes = patch.Vendor is { } vendor ? VendorStore.ReadModule(vendor) : patches.Local.ReadModule(patch.KernelRelease, patch.Name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ApplyResultItem(patch.Name, ApplyResultKind.Failed, ErrorReason.Internal.Code, $"cannot read {path}: {e.Message}");
        }

        var request = new LoadRequest(bytes, path, Wait: true, context.Timeout)
        {
            // A vendor patch has no manifest: what is loaded is what the load checks verify, the signature included.
            ExpectedSha256 = patch.Vendor is null ? patch.Sha256 : null,
            ExpectedName = patch.Name,
            OperatorMetadata = patch.OperatorMetadata,
            // Written after every check passed and right before the kernel gets the module.
            BeforeLoad = (name, sha256) => startup.Marking(name, sha256, patch.KernelRelease),
        };
        var child = loader.Start(request, context.Caller);
        var load = await ChildOperation.FollowAsync(context, child, prefix).ConfigureAwait(false);
        var result = load.Result!;
        if (result.Kind == OperationResultKind.StillRunning)
        {
            // The marker stays until the transition is over: a machine lost now was lost applying this patch.
            await steps.Watcher.WaitForAsync(v => v.Snapshot.FindPatch(patch.Name) is not { Transition: true }, context.Stop).ConfigureAwait(false);
        }

        startup.ClearMarker();
        var enabled = state.Current.Snapshot.FindPatch(patch.Name) is { Enabled: true, Transition: false };
        return result.Kind switch
        {
            OperationResultKind.Completed or OperationResultKind.Forced when enabled => new ApplyResultItem(patch.Name, ApplyResultKind.Applied, null,
                $"{result.Message}; re-verified: " + (patch.Vendor is { } source
                    ? $"vendor patch installed {source.By}, every load check passed (the signature included)"
                    : $"sha256 {patch.Sha256[..12]}… matches the manifest, every load check passed")) { OperationId = load.Id },
            _ => new ApplyResultItem(patch.Name, ApplyResultKind.Failed, result.Reason?.Code ?? ErrorReason.Internal.Code, result.Message) { OperationId = load.Id },
        };
    }

    private void Report(ApplyResultItem result)
    {
        switch (result.Outcome)
        {
            case ApplyResultKind.Applied:
                startup.Publish(new AgentEvent { Time = timeProvider.GetUtcNow(), Kind = AgentEventKind.InstalledPatchApplied, Patch = result.Name, Message = result.Message });
                break;
            case ApplyResultKind.Failed:
                StoreLog.ApplyFailed(logger, result.Name, result.Reason ?? "-", result.Message);
                startup.Publish(new AgentEvent { Time = timeProvider.GetUtcNow(), Kind = AgentEventKind.InstalledPatchFailed, Patch = result.Name, Message = result.Message, Reason = result.Reason });
                break;
            default:
                StoreLog.ApplySkipped(logger, result.Name, result.Message);
                break;
        }
    }
}

/// <summary>What one apply did with each installed patch.</summary>
internal sealed record ApplyDetail(ImmutableArray<ApplyResultItem> Results, bool Resumed) : OperationDetail;

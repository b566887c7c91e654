using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Store;
using LivePatchAgent.Daemon.Transitions;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Operations;

/// <summary>
/// The load operation: decompress in user space, seal, verify exactly the sealed bytes, wait for the kernel's
/// turn, hand the same bytes to finit_module, and follow the patching transition to its end. The end is judged
/// once: completed, completed by force, reversed (and by whom), still running at the deadline, or not waited for.
/// After an atomic replace the replaced modules are removed once they are free (Apply:CleanupLeftovers).
/// </summary>
internal sealed class PatchLoader(
    OperationRunner runner,
    KernelSteps steps,
    ModuleVerification verification,
    IKernelModuleLoader loader,
    StateStore store,
    PinStore pins,
    LoadedPatchStore loadedPatches,
    TransitionInterventions interventions,
    EventHub hub,
    IOptions<ApplyOptions> apply,
    TimeProvider timeProvider,
    ILogger<PatchLoader> logger)
{
    /// <summary>Starts a load as an operation of its own; returns at once.</summary>
    public OperationHandle Start(LoadRequest request, Caller caller)
    {
        ArgumentNullException.ThrowIfNull(request);
        verification.CheckUploadSize(request.Module.Length);
        return runner.Start(
            new OperationRequest(OperationKind.Load, request.ExpectedName, caller, request.Timeout)
            {
                FirstPhase = OperationPhase.Verifying,
                FirstMessage = $"verifying {request.FileName ?? "the module"}",
            },
            context => RunAsync(request, context));
    }

    /// <summary>The load itself, in <paramref name="context"/>'s operation.</summary>
    public async Task<OperationEnd> RunAsync(LoadRequest request, OperationContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var started = timeProvider.GetTimestamp();
        var startedAt = timeProvider.GetUtcNow();
        var upload = verification.Decompress(request.Module);

        // The sealed memfd is filled first and verification reads it back: what is verified is what is loaded.
        using var image = SealedModuleImage.Create(request.FileName is null ? "module" : Path.GetFileName(request.FileName), upload.Image);
        var verified = verification.Verify(image.ReadAll(), request.FileName) with { Compression = upload.Compression, UploadSize = upload.UploadSize };
        var name = verified.ModuleName ?? request.ExpectedName ?? "unknown";
        context.Handle.Update(s => s with { Patch = name });
        LoadDetail Detail(LivePatch? patch = null, IReadOnlyList<string>? removed = null) =>
            new(name, patch, verified, timeProvider.GetElapsedTime(started)) { RemovedLeftovers = removed ?? [] };

        if (request.ExpectedSha256 is { } expected && !string.Equals(expected, verified.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return OperationContext.End(OperationResultKind.Refused,
                $"{request.FileName ?? name} has SHA-256 {verified.Sha256}, but its manifest recorded {expected} at install time: the installed file was changed; it is not loaded",
                Detail(), ErrorReason.HashMismatch);
        }

        if (!verified.Ok)
        {
            return OperationContext.End(OperationResultKind.Refused, verified.Message, Detail(), verified.Reason);
        }

        if (request.ExpectedName is { } expectedName && expectedName != name)
        {
            return OperationContext.End(OperationResultKind.Refused,
                $"{request.FileName ?? expectedName} is module {name}, but it is installed as {expectedName}; it is not loaded", Detail(), ErrorReason.HashMismatch);
        }

        var before = Preflight(name);
        await steps.WaitTurnAsync(name, "load", context).ConfigureAwait(false);
        context.Checked(name, verified.Sha256);
        request.BeforeLoad?.Invoke(name, verified.Sha256);
        context.Phase(OperationPhase.Loading, $"loading {name} into the kernel");
        await steps.RetryWhileBusyAsync(name, "load", async () =>
        {
            var errno = await steps.Gate.LoadModuleAsync(() => loader.Load(image), context.Stop).ConfigureAwait(false);
            if (errno != 0)
            {
                throw KernelErrors.ForLoad(errno, name, store.Current.Snapshot.Kernel);
            }
        }, context).ConfigureAwait(false);
        context.Acting();
        // The kernel keeps no .modinfo to read back: what was verified is recorded now, while it is known.
        loadedPatches.Record(new LoadedPatchRecord(name, verified.Sha256, verified.Report.Metadata, request.OperatorMetadata ?? PatchMetadata.None, timeProvider.GetUtcNow())
        {
            SrcVersion = verified.Report.Module?.ModInfo.SrcVersion,
            BootId = store.Current.Snapshot.Kernel.BootId,
        });

        var view = steps.Watcher.PollOnce();
        if (!request.Wait && view.Snapshot.FindPatch(name) is { Transition: true } running)
        {
            return OperationContext.End(OperationResultKind.NotWaited, $"loaded {name}; not waiting for its transition (lpctl status follows it)", Detail(running));
        }

        context.Phase(OperationPhase.Patching, $"patching {name}");
        // finit_module returns once the patch is registered, so "gone" means its transition ended (it was reversed,
        // and perhaps already unloaded by the revert), never "not there yet".
        var (ended, after) = await steps.WaitAsync(v => v.Snapshot.FindPatch(name) is not { Transition: true }, context).ConfigureAwait(false);
        var patch = after.Snapshot.FindPatch(name);
        if (!ended)
        {
            return OperationContext.End(OperationResultKind.StillRunning,
                $"loaded {name}; its transition is still running after {context.Timeout.TotalSeconds:F0} s (see lpctl status and lpctl blocking)",
                Detail(patch), ErrorReason.TransitionTimeout);
        }

        var ending = interventions.Ending(name, patching: true, startedAt);
        if (patch is not { Enabled: true })
        {
            var by = ending?.By ?? "a write to its enabled attribute that livepatchd did not make";
            var how = ending?.Kind == InterventionKind.Disable ? "unloaded" : "reversed";
            return new OperationEnd(
                new OperationResult(OperationResultKind.Reversed, ErrorReason.TransitionReversed,
                    $"loaded {name}, but its transition was {how} by {by}: it is not enabled") { By = ending?.By },
                Detail(patch));
        }

        IReadOnlyList<string> removed = [];
        if (apply.Value.CleanupLeftovers)
        {
            removed = await RemoveReplacedAsync(name, before, after, context).ConfigureAwait(false);
            patch = store.Current.Snapshot.FindPatch(name) ?? patch;
        }

        var cleaned = removed.Count > 0 ? $"; removed the replaced module(s) {string.Join(", ", removed)}" : string.Empty;
        if (ending is { Kind: InterventionKind.Force } force)
        {
            var tasks = force.OldCodeTasks.IsEmpty ? "no task was seen blocking it" : $"tasks that may still run the old code: {string.Join("; ", force.OldCodeTasks)}";
            return new OperationEnd(
                new OperationResult(OperationResultKind.Forced, ErrorReason.TransitionForced,
                    $"loaded {name}, but its transition completed only because {force.By} forced it: {tasks}"
                    + (force.Pinned.IsEmpty ? string.Empty : $"; pinned until reboot: {string.Join(", ", force.Pinned)}") + cleaned)
                {
                    By = force.By,
                    OldCodeTasks = force.OldCodeTasks,
                    Pinned = force.Pinned,
                },
                Detail(patch, removed));
        }

        return OperationContext.End(OperationResultKind.Completed, $"loaded {name}: patching complete{cleaned}", Detail(patch, removed));
    }

    private AgentView Preflight(string name)
    {
        var view = steps.Watcher.PollOnce();
        var kernel = view.Snapshot.Kernel;
        if (!kernel.LivepatchSupported)
        {
            throw new AgentException(ErrorReason.LivepatchUnsupported, $"cannot load {name}: the running kernel has no livepatch support (/sys/kernel/livepatch is missing)");
        }

        if (kernel.ModulesDisabled == true)
        {
            throw new AgentException(ErrorReason.KernelRefused, $"cannot load {name}: kernel.modules_disabled is set, so no module can be loaded until reboot");
        }

        if (view.Snapshot.FindPatch(name) is not null)
        {
            throw new AgentException(ErrorReason.AlreadyLoaded, $"patch {name} is already loaded; to load a new build, use a cumulative (replace) patch with another name, or unload {name} first");
        }

        if (view.Snapshot.Leftovers.Any(l => l.Name == name))
        {
            throw new AgentException(ErrorReason.AlreadyLoaded, $"module {name} is still loaded as a leftover (replaced or disabled); remove it with `lpctl unload {name}` first");
        }

        return view;
    }

    /// <summary>
    /// After an atomic replace: the patches that were registered before the load and are now leftovers were
    /// replaced by it. The kernel drops each one's module reference shortly after the transition; once it is 0 the
    /// module is removed through the gate, each removal journalled as a cleanup operation of its own. A pinned
    /// (forced) module, or one still referenced when the wait ends, is left and logged.
    /// </summary>
    private async Task<IReadOnlyList<string>> RemoveReplacedAsync(string name, AgentView before, AgentView after, OperationContext context)
    {
        var others = before.Snapshot.Patches.Select(p => p.Name).Where(n => n != name).ToList();
        if (others.Count == 0 || after.Snapshot.FindPatch(name)?.Replace == false)
        {
            return [];
        }

        // The kernel clears `transition` first and frees the replaced patches moments later (asynchronous work), so
        // give them time to go: up to 10 s when sysfs says this is a replace patch (Linux 6.11+), a short grace
        // when the kernel does not say.
        var grace = after.Snapshot.FindPatch(name)?.Replace == true ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(2);
        (_, after) = await steps.WaitAtMostAsync(v => others.All(n => v.Snapshot.FindPatch(n) is null), grace, context).ConfigureAwait(false);
        var replaced = others
            .Where(n => after.Snapshot.FindPatch(n) is null && after.Snapshot.Leftovers.Any(l => l.Name == n))
            .Order(StringComparer.Ordinal)
            .ToList();
        var removed = new List<string>();
        foreach (var module in replaced)
        {
            if (pins.Find(module) is not null)
            {
                StoreLog.LeftoverKept(logger, module, name, "a forced transition pinned it until reboot");
                continue;
            }

            var (free, _) = await steps.WaitAtMostAsync(
                v => v.Snapshot.Leftovers.FirstOrDefault(l => l.Name == module) is not { } l || l.Module.RefCount == 0,
                TimeSpan.FromSeconds(10), context).ConfigureAwait(false);
            if (!free)
            {
                StoreLog.LeftoverKept(logger, module, name, "its reference count did not drop to 0");
                continue;
            }

            var cleanup = runner.Start(new OperationRequest(OperationKind.Cleanup, module, context.Caller, null) { FirstMessage = $"removing {module}, which {name} replaced" },
                async c =>
                {
                    c.Acting();
                    var errno = await steps.Gate.MutateAsync(() => loader.Remove(module), c.Stop).ConfigureAwait(false);
                    if (errno is not (0 or KernelModules.Enoent))
                    {
                        throw KernelErrors.ForRemove(errno, module, store.Current.Snapshot.Kernel);
                    }

                    return OperationContext.End(OperationResultKind.Completed, $"removed {module}: {name} replaced it atomically and its module was no longer used");
                });
            var done = await cleanup.Completion.ConfigureAwait(false);
            if (done.Result!.Kind == OperationResultKind.Completed)
            {
                removed.Add(module);
                Publish(AgentEventKind.LeftoverRemoved, module, done.Result.Message);
            }
            else
            {
                StoreLog.LeftoverKept(logger, module, name, done.Result.Message);
            }
        }

        if (removed.Count > 0)
        {
            steps.Watcher.PollOnce();
        }

        return removed;
    }

    private void Publish(AgentEventKind kind, string patch, string message)
    {
        foreach (var e in hub.Publish([new AgentEvent { Time = timeProvider.GetUtcNow(), Kind = kind, Patch = patch, Message = message }]))
        {
            Log.KernelEvent(logger, e.Message);
        }
    }
}

/// <summary>A load: the uploaded (possibly compressed) module and how to go about it.</summary>
/// <param name="Module">The module as uploaded or read from the store; gzip, xz and zstd are decompressed.</param>
/// <param name="FileName">The client's file name or the store path, for messages only.</param>
/// <param name="Wait">Wait for the patching transition.</param>
/// <param name="Timeout">The deadline of the whole operation; Limits:OperationTimeout when null.</param>
internal sealed record LoadRequest(byte[] Module, string? FileName, bool Wait, TimeSpan? Timeout)
{
    /// <summary>For an installed patch: the SHA-256 its manifest recorded; a different image is refused (hash-mismatch).</summary>
    public string? ExpectedSha256 { get; init; }

    /// <summary>For an installed patch: the name it was installed under.</summary>
    public string? ExpectedName { get; init; }

    /// <summary>For an installed patch: the operator's install metadata, shown where the module declares nothing.</summary>
    public PatchMetadata? OperatorMetadata { get; init; }

    /// <summary>Runs after every check passed, right before the kernel is handed the module (the crash-loop marker).</summary>
    public Action<string, string>? BeforeLoad { get; init; }
}

/// <summary>What a load produced: the verification report, the patch as it ended, and the leftovers it removed.</summary>
internal sealed record LoadDetail(string Name, LivePatch? Patch, VerificationOutcome Verification, TimeSpan Elapsed) : OperationDetail
{
    /// <summary>Modules this load replaced atomically and then removed (Apply:CleanupLeftovers).</summary>
    public IReadOnlyList<string> RemovedLeftovers { get; init; } = [];
}

using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.State;
using LivePatchAgent.Core;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Store;
using LivePatchAgent.Daemon.Transitions;
using LivePatchAgent.Daemon.Watching;
using LivePatchAgent.Linux.Native;
using LivePatchAgent.Linux.Procfs;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.Extensions.Options;
using Polly.Retry;
using Polly.Timeout;
using Polly;

namespace LivePatchAgent.Daemon.Operations;

/// <summary>
/// The one writer: every kernel mutation (load, disable, unload) goes through here, one at a time (the kernel
/// allows one transition at a time anyway), and each is journalled before and after it acts.
/// </summary>
internal sealed class PatchOperations(
    ModuleVerification verification,
    KernelWatcher watcher,
    StateStore store,
    LivepatchControl control,
    IKernelModuleLoader loader,
    ITaskSignaller signaller,
    BlockingTaskScanner scanner,
    PinStore pins,
    EventHub hub,
    IOperationJournal journal,
    IOptions<LimitsOptions> limits,
    IOptions<WatchOptions> watch,
    IOptions<ApplyOptions> apply,
    TimeProvider timeProvider,
    ILogger<PatchOperations> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public TimeSpan DefaultTimeout => limits.Value.OperationTimeout;

    public long MaxModuleSize => limits.Value.MaxModuleSize;

    public void Dispose() => _gate.Dispose();

    /// <summary>Verifies, then loads exactly the verified bytes, then waits for the transition unless told not to.</summary>
    public Task<LoadOutcome> LoadAsync(byte[] module, string? fileName, bool wait, TimeSpan? timeout, Caller caller, CancellationToken cancellationToken) =>
        LoadAsync(new LoadRequest(module, fileName, wait, timeout), caller, cancellationToken);

    /// <summary>
    /// Decompresses (gzip, xz, zstd) in user space, seals the plain image, verifies it (and, for an installed patch,
    /// its hash against the manifest), loads exactly those bytes, waits for the transition unless told not to, and
    /// after an atomic replace removes the replaced modules once they are free (Apply:CleanupLeftovers).
    /// </summary>
    public async Task<LoadOutcome> LoadAsync(LoadRequest request, Caller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var operation = request.Operation;
        CheckSize(request.Module.Length);
        var started = timeProvider.GetTimestamp();
        var deadline = new Deadline(timeProvider, request.Timeout ?? DefaultTimeout);

        ModuleUpload upload;
        try
        {
            upload = verification.Decompress(request.Module);
        }
        catch (AgentException e)
        {
            var refused = journal.Started(operation, request.ExpectedName, caller);
            journal.Finished(refused, operation, request.ExpectedName, "refused", e.Reason.Code, e.Message);
            throw;
        }

        // The sealed memfd is filled first and verification reads it back: what is verified is what is loaded.
        using var image = SealedModuleImage.Create(request.FileName is null ? "module" : Path.GetFileName(request.FileName), upload.Image);
        var verified = verification.Verify(image.ReadAll(), request.FileName) with { Compression = upload.Compression, UploadSize = upload.UploadSize };
        var name = verified.ModuleName ?? request.ExpectedName ?? "unknown";
        var id = journal.Started(operation, name, caller, verified.Sha256);
        if (request.ExpectedSha256 is { } expected && !string.Equals(expected, verified.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            var message = $"{request.FileName ?? name} has SHA-256 {verified.Sha256}, but its manifest recorded {expected} at install time: the installed file was changed; it is not loaded";
            journal.Finished(id, operation, name, "refused", ErrorReason.HashMismatch.Code, message);
            throw new AgentException(ErrorReason.HashMismatch, message);
        }

        if (!verified.Ok)
        {
            journal.Finished(id, operation, name, "refused", verified.Reason!.Code, verified.Message);
            throw new AgentException(verified.Reason, verified.Message);
        }

        if (request.ExpectedName is { } expectedName && expectedName != name)
        {
            var message = $"{request.FileName ?? expectedName} is module {name}, but it is installed as {expectedName}; it is not loaded";
            journal.Finished(id, operation, name, "refused", ErrorReason.HashMismatch.Code, message);
            throw new AgentException(ErrorReason.HashMismatch, message);
        }

        EnsureTimeLeft($"{operation} of {name}", deadline, cancellationToken);
        try
        {
            var before = PreflightLoad(name);
            request.BeforeLoad?.Invoke(name, verified.Sha256);
            await RetryWhileBusyAsync(operation, name, deadline, () =>
            {
                var errno = loader.Load(image);
                if (errno != 0)
                {
                    throw LoadError(errno, name);
                }
            }, cancellationToken).ConfigureAwait(false);

            var view = watcher.PollOnce();
            var completed = false;
            if (request.Wait)
            {
                // finit_module returns once the patch is registered, so "gone" means its transition ended (it was
                // reversed, and perhaps already unloaded by the revert), never "not there yet".
                (completed, view) = await WaitAsync(v => v.Snapshot.FindPatch(name) is not { Transition: true }, deadline, cancellationToken).ConfigureAwait(false);
            }

            var patch = view.Snapshot.FindPatch(name);
            IReadOnlyList<string> removed = [];
            if (completed && patch is { Enabled: true } && apply.Value.CleanupLeftovers)
            {
                removed = await RemoveReplacedAsync(name, before, view, deadline, caller, cancellationToken).ConfigureAwait(false);
                view = store.Current;
                patch = view.Snapshot.FindPatch(name) ?? patch;
            }

            var message = (request.Wait, completed, patch) switch
            {
                (false, _, _) => $"loaded {name}; not waiting for its transition",
                (true, true, { Enabled: true }) => $"loaded {name}: patching complete",
                (true, true, _) => $"loaded {name}, but its transition was reversed: it is no longer enabled",
                _ => $"loaded {name}; its transition is still running after {deadline.Total.TotalSeconds:F0} s (see lpctl status and lpctl blocking)",
            };
            if (removed.Count > 0)
            {
                message += $"; removed the replaced module(s) {string.Join(", ", removed)}";
            }

            journal.Finished(id, operation, name, completed || !request.Wait ? "ok" : "timeout", completed || !request.Wait ? null : ErrorReason.TransitionTimeout.Code, message);
            return new LoadOutcome(name, patch, completed, verified, timeProvider.GetElapsedTime(started), message) { RemovedLeftovers = removed };
        }
        catch (Exception e) when (e is AgentException or OperationCanceledException)
        {
            FinishedWithError(id, operation, name, e);
            throw;
        }
    }

    /// <summary>
    /// After an atomic replace: the patches that were registered before the load and are now leftovers were
    /// replaced by it. The kernel drops each one's module reference shortly after the transition; once it is 0 the
    /// module is removed. A pinned (forced) module, or one still referenced when the wait ends, is left and logged.
    /// </summary>
    private async Task<IReadOnlyList<string>> RemoveReplacedAsync(string name, AgentView before, AgentView after, Deadline deadline, Caller caller, CancellationToken cancellationToken)
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
        var settle = new Deadline(timeProvider, TimeSpan.FromSeconds(Math.Min(grace.TotalSeconds, deadline.Remaining.TotalSeconds)));
        (_, after) = await WaitAsync(v => others.All(n => v.Snapshot.FindPatch(n) is null), settle, cancellationToken).ConfigureAwait(false);
        var replaced = before.Snapshot.Patches
            .Select(p => p.Name)
            .Where(n => n != name && after.Snapshot.FindPatch(n) is null && after.Snapshot.Leftovers.Any(l => l.Name == n))
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

            // The reference goes when the kernel's free work runs, moments after the transition; wait a little.
            var wait = new Deadline(timeProvider, TimeSpan.FromSeconds(Math.Min(10, deadline.Remaining.TotalSeconds)));
            var (free, _) = await WaitAsync(v => v.Snapshot.Leftovers.FirstOrDefault(l => l.Name == module) is not { } l || l.Module.RefCount == 0, wait, cancellationToken).ConfigureAwait(false);
            if (!free)
            {
                StoreLog.LeftoverKept(logger, module, name, "its reference count did not drop to 0");
                continue;
            }

            var cleanup = journal.Started("cleanup", module, caller);
            var errno = loader.Remove(module);
            if (errno is 0 or KernelModules.Enoent)
            {
                removed.Add(module);
                var message = $"removed {module}: {name} replaced it atomically and its module was no longer used";
                journal.Finished(cleanup, "cleanup", module, "ok", null, message);
                Publish(AgentEventKind.LeftoverRemoved, module, message, null);
            }
            else
            {
                journal.Finished(cleanup, "cleanup", module, "failed", ErrorReason.ModuleInUse.Code, KernelModules.Describe(errno));
                StoreLog.LeftoverKept(logger, module, name, KernelModules.Describe(errno));
            }
        }

        if (removed.Count > 0)
        {
            watcher.PollOnce();
        }

        return removed;
    }

    /// <summary>Disables a patch, waits until it is gone and its module is free, then removes the module.</summary>
    public async Task<UnloadOutcome> UnloadAsync(string requestedName, TimeSpan? timeout, Caller caller, CancellationToken cancellationToken)
    {
        if (ModuleName.Validate(requestedName) is { } problem)
        {
            throw new AgentException(ErrorReason.InvalidArgument, $"invalid patch name: {problem}");
        }

        var name = ModuleName.Normalize(requestedName);
        var started = timeProvider.GetTimestamp();
        var deadline = new Deadline(timeProvider, timeout ?? DefaultTimeout);
        EnsureTimeLeft($"unload of {name}", deadline, cancellationToken);
        var id = journal.Started("unload", name, caller);
        try
        {
            var view = watcher.PollOnce();
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

            if (patch is not null)
            {
                await DisableAsync(name, patch, deadline, cancellationToken).ConfigureAwait(false);
            }

            await RemoveModuleAsync(name, deadline, cancellationToken).ConfigureAwait(false);
            watcher.PollOnce();
            var message = leftover ? $"removed leftover module {name}" : $"unloaded {name}";
            journal.Finished(id, "unload", name, "ok", null, message);
            return new UnloadOutcome(name, leftover, timeProvider.GetElapsedTime(started), message);
        }
        catch (Exception e) when (e is AgentException or OperationCanceledException)
        {
            FinishedWithError(id, "unload", name, e);
            throw;
        }
    }

    /// <summary>
    /// Reverses the running transition of <paramref name="requestedName"/>: writes the opposite value to
    /// <c>enabled</c>. A reversed enable frees the patch; its module is then removed as in an unload.
    /// </summary>
    public async Task<RevertOutcome> RevertAsync(string requestedName, TimeSpan? timeout, Caller caller, CancellationToken cancellationToken)
    {
        var name = ValidName(requestedName);
        var deadline = new Deadline(timeProvider, timeout ?? DefaultTimeout);
        EnsureTimeLeft($"revert of {name}", deadline, cancellationToken);
        var id = journal.Started("revert", name, caller);
        try
        {
            LivePatch patch = null!;
            await MutateAsync(() =>
            {
                patch = TransitioningPatch(name, "revert");
                switch (control.SetEnabled(name, !patch.Enabled, out var error))
                {
                    case LivepatchControl.Outcome.Done or LivepatchControl.Outcome.Invalid or LivepatchControl.Outcome.Gone:
                        break;
                    case LivepatchControl.Outcome.Denied:
                        throw new AgentException(ErrorReason.KernelRefused, $"cannot revert {name}: {error}; livepatchd needs root");
                    default:
                        throw new AgentException(ErrorReason.Internal, $"cannot revert {name}: {error}");
                }
            }, cancellationToken).ConfigureAwait(false);
            var elapsed = store.Current.Transition?.ElapsedAt(timeProvider.GetUtcNow()) ?? TimeSpan.Zero;

            Publish(AgentEventKind.TransitionReverted, name, $"{caller} reverted the {(patch.Enabled ? "patching" : "unpatching")} transition of {name} after {elapsed.TotalSeconds:F0} s", elapsed);
            bool completed;
            var removed = false;
            if (patch.Enabled)
            {
                // A reversed enable ends with the patch freed; then its module is unloaded like any other.
                (completed, _) = await WaitAsync(v => v.Snapshot.FindPatch(name) is null, deadline, cancellationToken).ConfigureAwait(false);
                if (completed)
                {
                    await RemoveModuleAsync(name, deadline, cancellationToken).ConfigureAwait(false);
                    removed = true;
                    watcher.PollOnce();
                }
            }
            else
            {
                (completed, _) = await WaitAsync(v => v.Snapshot.FindPatch(name) is { Transition: false }, deadline, cancellationToken).ConfigureAwait(false);
            }

            var message = (patch.Enabled, completed) switch
            {
                (true, true) => $"reverted {name}: the patching transition was reversed and the module removed",
                (false, true) => $"reverted {name}: the unpatching transition was reversed; {name} is enabled again",
                _ => $"reversing {name}, but the reversed transition is still running after {deadline.Total.TotalSeconds:F0} s (see lpctl blocking)",
            };
            journal.Finished(id, "revert", name, completed ? "ok" : "timeout", completed ? null : ErrorReason.TransitionTimeout.Code, message);
            return new RevertOutcome(name, completed, removed, message);
        }
        catch (Exception e) when (e is AgentException or OperationCanceledException)
        {
            FinishedWithError(id, "revert", name, e);
            throw;
        }
    }

    /// <summary>
    /// Forces the running transition to complete and records the modules the kernel pins for it: the
    /// transitioning patch after a forced unpatch, the replaced patches after a forced replace (Linux 5.18+); on
    /// older kernels every patch on the list.
    /// </summary>
    public async Task<ForceOutcome> ForceAsync(string requestedName, bool confirmed, Caller caller, CancellationToken cancellationToken)
    {
        var name = ValidName(requestedName);
        if (!confirmed)
        {
            throw new AgentException(ErrorReason.ConfirmationRequired,
                $"forcing {name} needs confirmation: tasks still inside the old code keep running it, and a forced unpatch or replace pins modules so they can never be unloaded until reboot");
        }

        var deadline = new Deadline(timeProvider, DefaultTimeout);
        EnsureTimeLeft($"force of {name}", deadline, cancellationToken);
        var id = journal.Started("force", name, caller);
        try
        {
            AgentView before = null!;
            LivePatch patch = null!;
            await MutateAsync(() =>
            {
                before = watcher.PollOnce();
                patch = TransitioningPatch(name, "force");
                switch (control.Force(name, out var error))
                {
                    case LivepatchControl.Outcome.Done:
                        break;
                    case LivepatchControl.Outcome.Invalid or LivepatchControl.Outcome.Gone:
                        throw new AgentException(ErrorReason.NoTransition, $"{name} finished its transition before it could be forced");
                    case LivepatchControl.Outcome.Denied:
                        throw new AgentException(ErrorReason.KernelRefused, $"cannot force {name}: {error}; livepatchd needs root");
                    default:
                        throw new AgentException(ErrorReason.Internal, $"cannot force {name}: {error}");
                }
            }, cancellationToken).ConfigureAwait(false);
            var stall = before.Stall?.Summary ?? "not diagnosed";

            // The kernel completes a forced transition at its next periodic check, about a second later.
            var (completed, after) = await WaitAsync(v => v.Snapshot.FindPatch(name) is not { Transition: true }, deadline, cancellationToken).ConfigureAwait(false);
            if (completed && patch.Enabled && before.Snapshot.Patches.Any(p => p.Name != name))
            {
                // The kernel clears `transition` before its work queue frees the patches a replace displaced; give
                // that a moment, so the pins are read from the settled tree. A plain (non-replace) patch leaves the
                // others in place, and this wait simply runs out.
                (_, after) = await WaitAsync(
                    v => before.Snapshot.Patches.All(p => p.Name == name || v.Snapshot.FindPatch(p.Name) is null),
                    new Deadline(timeProvider, TimeSpan.FromSeconds(2)), cancellationToken).ConfigureAwait(false);
            }
            var pinned = PinnedByForce(before, after, patch);
            var bootId = after.Snapshot.Kernel.BootId ?? "unknown";
            var reason = patch.Enabled ? "patching transition" : "unpatching transition";
            pins.Add(pinned.Select(m => new ModulePin(m, bootId, timeProvider.GetUtcNow(), name, caller.Description, reason, stall)));
            var message = pinned.Count == 0
                ? $"forced the {reason} of {name}; no module is pinned"
                : $"forced the {reason} of {name}; pinned until reboot: {string.Join(", ", pinned)}";
            Publish(AgentEventKind.TransitionForced, name, message, null);
            journal.Finished(id, "force", name, completed ? "ok" : "timeout", completed ? null : ErrorReason.TransitionTimeout.Code, message);
            return new ForceOutcome(name, pinned, completed, message);
        }
        catch (Exception e) when (e is AgentException or OperationCanceledException)
        {
            FinishedWithError(id, "force", name, e);
            throw;
        }
    }

    /// <summary>Kicks the blocked user tasks of the running transition (or writes <c>signal</c> on 4.16-5.0 kernels).</summary>
    public async Task<KickOutcome> KickAsync(string requestedName, Caller caller, CancellationToken cancellationToken)
    {
        var name = ValidName(requestedName);
        var id = journal.Started("kick", name, caller);
        try
        {
            KickOutcome outcome = null!;
            await MutateAsync(() => outcome = Kick(name), cancellationToken).ConfigureAwait(false);
            Publish(AgentEventKind.TasksKicked, name, outcome.Message, null);
            journal.Finished(id, "kick", name, "ok", null, outcome.Message);
            return outcome;
        }
        catch (Exception e) when (e is AgentException or OperationCanceledException)
        {
            FinishedWithError(id, "kick", name, e);
            throw;
        }
    }

    private KickOutcome Kick(string name)
    {
        var patch = TransitioningPatch(name, "kick");
        KickOutcome outcome;
        if (control.HasSignalAttribute(name))
        {
            var result = control.Signal(name, out var error);
            if (result is not LivepatchControl.Outcome.Done)
            {
                throw new AgentException(result == LivepatchControl.Outcome.Denied ? ErrorReason.KernelRefused : ErrorReason.Internal, $"cannot signal the tasks of {name}: {error}");
            }

            outcome = new KickOutcome(name, [], 0, "signal-attribute", $"the kernel fake-signalled the blocked tasks of {name}");
        }
        else
        {
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

            outcome = new KickOutcome(name, kicked, kernelThreads, "sigstop-sigcont",
                $"kicked {kicked.Count} process(es) blocking {name} with SIGSTOP+SIGCONT" + (kernelThreads > 0 ? $"; {kernelThreads} kernel thread(s) cannot be kicked" : string.Empty));
        }

        return outcome;
    }

    /// <summary>
    /// Journals an operation that ended by exception: failed with its reason, or cancelled when the caller hung up
    /// or the daemon is stopping (what the kernel did by then is in the next snapshot).
    /// </summary>
    private void FinishedWithError(long id, string operation, string name, Exception error)
    {
        if (error is AgentException agent)
        {
            journal.Finished(id, operation, name, "failed", agent.Reason.Code, agent.Message);
        }
        else
        {
            journal.Finished(id, operation, name, "cancelled", null, "stopped waiting: the caller hung up or livepatchd is stopping; lpctl status shows where the kernel got to");
        }
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
        return parts.Length >= 2 && int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var ma)
            && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var mi)
            && (ma < major || (ma == major && mi < minor));
    }

    private LivePatch TransitioningPatch(string name, string verb)
    {
        var view = watcher.PollOnce();
        var patch = view.Snapshot.FindPatch(name)
            ?? throw new AgentException(ErrorReason.PatchNotFound, $"patch \"{name}\" is not loaded");
        return patch.Transition
            ? patch
            : throw new AgentException(ErrorReason.NoTransition, $"cannot {verb} {name}: it is not in transition ({SnapshotDiff.Describe(patch.State)})");
    }

    private static string ValidName(string requested) => ModuleName.Validate(requested) is { } problem
        ? throw new AgentException(ErrorReason.InvalidArgument, $"invalid patch name: {problem}")
        : ModuleName.Normalize(requested);

    private void Publish(AgentEventKind kind, string patch, string message, TimeSpan? elapsed)
    {
        foreach (var e in hub.Publish([new AgentEvent { Time = timeProvider.GetUtcNow(), Kind = kind, Patch = patch, Message = message, Elapsed = elapsed }]))
        {
            Log.KernelEvent(logger, e.Message);
        }
    }

    private async Task DisableAsync(string name, LivePatch patch, Deadline deadline, CancellationToken cancellationToken)
    {
        // Already unpatching (someone wrote 0, or a reversal): only wait. Otherwise write 0, which also reverses
        // this patch's own enabling transition if it is still running.
        if (patch.Enabled)
        {
            await RetryWhileBusyAsync("unload", name, deadline, () =>
            {
                switch (control.SetEnabled(name, false, out var error))
                {
                    case LivepatchControl.Outcome.Done or LivepatchControl.Outcome.Gone or LivepatchControl.Outcome.Invalid:
                        return;
                    case LivepatchControl.Outcome.Busy:
                        throw new KernelBusyException();
                    case LivepatchControl.Outcome.Denied:
                        throw new AgentException(ErrorReason.KernelRefused, $"cannot disable {name}: {error}; livepatchd needs root");
                    default:
                        throw new AgentException(ErrorReason.Internal, $"cannot disable {name}: {error}");
                }
            }, cancellationToken).ConfigureAwait(false);
        }

        watcher.PollOnce();
        var (gone, _) = await WaitAsync(v => v.Snapshot.FindPatch(name) is null, deadline, cancellationToken).ConfigureAwait(false);
        if (!gone)
        {
            throw new AgentException(ErrorReason.TransitionTimeout,
                $"{name} is disabled but its unpatching transition did not finish within {deadline.Total.TotalSeconds:F0} s; it is still running (see lpctl blocking)");
        }
    }

    private async Task RemoveModuleAsync(string name, Deadline deadline, CancellationToken cancellationToken)
    {
        // The kernel drops the patch's module reference asynchronously after the directory goes; delete_module
        // says EWOULDBLOCK until then.
        await RetryWhileBusyAsync("unload", name, deadline, () =>
        {
            var errno = loader.Remove(name);
            switch (errno)
            {
                case 0 or KernelModules.Enoent:
                    return;
                case KernelModules.Eagain or KernelModules.Ebusy:
                    throw new KernelBusyException(ErrorReason.ModuleInUse,
                        $"module {name} is still in use (refcount not zero, or another module depends on it): {KernelModules.Describe(errno)}");
                case KernelModules.Eperm:
                    throw new AgentException(ErrorReason.KernelRefused, $"the kernel refused to remove {name}: {PermissionCause()}");
                default:
                    throw new AgentException(ErrorReason.Internal, $"cannot remove module {name}: {KernelModules.Describe(errno)}");
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private AgentView PreflightLoad(string name)
    {
        var view = watcher.PollOnce();
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

    private AgentException LoadError(int errno, string name)
    {
        var kernel = store.Current.Snapshot.Kernel;
        var what = KernelModules.Describe(errno);
        return errno switch
        {
            KernelModules.Ebusy => new KernelBusyException(ErrorReason.TransitionInProgress,
                $"cannot load {name}: another live patch is in transition (or ftrace refused the function): {what}"),
            KernelModules.Eexist => new AgentException(ErrorReason.AlreadyLoaded, $"cannot load {name}: a module of that name is already loaded"),
            KernelModules.Ekeyrejected or KernelModules.Enokey or KernelModules.Ebadmsg or KernelModules.Enopkg => new AgentException(ErrorReason.KernelRejectedSignature,
                $"the kernel rejected the signature of {name} ({what}): livepatchd trusts the signer, but the kernel's keyrings do not"
                + (kernel.SigEnforce == true ? " and module.sig_enforce is on" : string.Empty)),
            KernelModules.Eperm or KernelModules.Eacces => new AgentException(ErrorReason.KernelRefused, $"the kernel refused to load {name}: {PermissionCause()}"),
            KernelModules.Enoexec => new AgentException(ErrorReason.ModuleRejected, $"the kernel found {name} invalid for this kernel ({what}); dmesg has the details"),
            KernelModules.Einval => new AgentException(ErrorReason.ModuleRejected, $"the kernel or its livepatch core refused {name} ({what}): an unresolvable symbol or an incompatible patch state; dmesg has the details"),
            KernelModules.Enoent => new AgentException(ErrorReason.UnknownSymbol, $"{name} needs a symbol the kernel cannot resolve ({what}); load the modules it depends on first, dmesg names the symbol"),
            KernelModules.Enodev => new AgentException(ErrorReason.ModuleRejected, $"{name} refused to initialise ({what}); dmesg has the details"),
            _ => new AgentException(ErrorReason.LoadFailed, $"finit_module failed for {name}: {what}"),
        };
    }

    /// <summary>Names what most likely made the kernel answer EPERM, from what the daemon can see.</summary>
    private string PermissionCause()
    {
        var kernel = store.Current.Snapshot.Kernel;
        if (kernel.ModulesDisabled == true)
        {
            return "kernel.modules_disabled is set (until reboot)";
        }

        if (kernel.Lockdown is "integrity" or "confidentiality")
        {
            return $"the kernel is in lockdown mode \"{kernel.Lockdown}\", which refuses modules it cannot verify with its own keys";
        }

        return Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root"
            ? "permission denied (a security module refused it, or CAP_SYS_MODULE is missing)"
            : "permission denied: livepatchd is not running as root (CAP_SYS_MODULE is needed)";
    }

    private void CheckSize(long size)
    {
        if (size > limits.Value.MaxModuleSize)
        {
            throw new AgentException(ErrorReason.ModuleTooLarge, $"the module is {size} bytes; Limits:MaxModuleSize allows {limits.Value.MaxModuleSize}");
        }

        if (size == 0)
        {
            throw new AgentException(ErrorReason.ModuleMalformed, "the module is empty");
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/>, retrying with backoff while the kernel answers busy, until the deadline;
    /// then the last busy error is reported with its own reason.
    /// </summary>
    private async Task RetryWhileBusyAsync(string operation, string name, Deadline deadline, Action action, CancellationToken cancellationToken)
    {
        KernelBusyException? last = null;
        if (deadline.Remaining <= TimeSpan.Zero)
        {
            throw new AgentException(ErrorReason.TransitionTimeout, $"no time left for the {operation} of {name} within {deadline.Total.TotalSeconds:F0} s");
        }

        var pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddTimeout(deadline.Remaining)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<KernelBusyException>(),
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(2),
                MaxRetryAttempts = int.MaxValue,
                UseJitter = true,
                OnRetry = args =>
                {
                    last = args.Outcome.Exception as KernelBusyException;
                    Log.RetryingBusy(logger, operation, name, args.RetryDelay);
                    return default;
                },
            })
            .Build();
        try
        {
            await pipeline.ExecuteAsync(async token => await MutateAsync(action, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException)
        {
            var reason = last?.Reason ?? ErrorReason.TransitionInProgress;
            throw new AgentException(reason, $"{last?.Message ?? "the kernel stayed busy"}; gave up after {deadline.Total.TotalSeconds:F0} s");
        }
    }

    /// <summary>
    /// Refuses to start an operation whose deadline has already passed. There is no operation-wide lock: an
    /// operation waiting for a transition must not keep revert, force or kick from acting on that very transition.
    /// The one-writer gate serialises the mutations themselves (<see cref="MutateAsync"/>).
    /// </summary>
    private static void EnsureTimeLeft(string what, Deadline deadline, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (deadline.Remaining <= TimeSpan.Zero)
        {
            throw new AgentException(ErrorReason.TransitionTimeout, $"no time left to start the {what}");
        }
    }

    /// <summary>
    /// One kernel mutation (a syscall or a sysfs write, with the checks that must see the same state) under the
    /// one-writer gate: two mutations never interleave, and each holds the gate for milliseconds.
    /// </summary>
    private async Task MutateAsync(Action action, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            action();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Polls the kernel until <paramref name="done"/> holds or the deadline passes.</summary>
    private async Task<(bool Done, AgentView View)> WaitAsync(Func<AgentView, bool> done, Deadline deadline, CancellationToken cancellationToken)
    {
        while (true)
        {
            var view = watcher.PollOnce();
            if (done(view))
            {
                return (true, view);
            }

            if (deadline.Remaining <= TimeSpan.Zero)
            {
                return (false, view);
            }

            await Task.Delay(watch.Value.TransitionInterval, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>One deadline for a whole request: the gate wait, the retries and the transition wait share it.</summary>
internal readonly struct Deadline(TimeProvider timeProvider, TimeSpan total)
{
    private readonly long _started = timeProvider.GetTimestamp();

    public TimeSpan Total => total;

    public TimeSpan Remaining
    {
        get
        {
            var left = total - timeProvider.GetElapsedTime(_started);
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }
}

/// <summary>The kernel answered "busy"; worth retrying until the deadline.</summary>
internal sealed class KernelBusyException(ErrorReason reason, string message) : AgentException(reason, message)
{
    public KernelBusyException()
        : this(ErrorReason.TransitionInProgress, "another live patch is in transition")
    {
    }
}

internal sealed record LoadOutcome(string Name, LivePatch? Patch, bool TransitionCompleted, VerificationOutcome Verification, TimeSpan Elapsed, string Message)
{
    /// <summary>Modules this load replaced atomically and then removed (Apply:CleanupLeftovers).</summary>
    public IReadOnlyList<string> RemovedLeftovers { get; init; } = [];
}

/// <summary>A load: the uploaded (possibly compressed) module and how to go about it.</summary>
/// <param name="Module">The module as uploaded or read from the store; gzip, xz and zstd are decompressed.</param>
/// <param name="FileName">The client's file name or the store path, for messages only.</param>
/// <param name="Wait">Wait for the patching transition.</param>
/// <param name="Timeout">The deadline of the whole operation; Limits:OperationTimeout when null.</param>
internal sealed record LoadRequest(byte[] Module, string? FileName, bool Wait, TimeSpan? Timeout)
{
    /// <summary>The journal's name for the operation: "load", or "apply" for an installed patch.</summary>
    public string Operation { get; init; } = "load";

    /// <summary>For an installed patch: the SHA-256 its manifest recorded; a different image is refused (hash-mismatch).</summary>
    public string? ExpectedSha256 { get; init; }

    /// <summary>For an installed patch: the name it was installed under.</summary>
    public string? ExpectedName { get; init; }

    /// <summary>Runs after every check passed, right before the kernel is handed the module (the crash-loop marker).</summary>
    public Action<string, string>? BeforeLoad { get; init; }
}

internal sealed record UnloadOutcome(string Name, bool WasLeftover, TimeSpan Elapsed, string Message);

internal sealed record RevertOutcome(string Name, bool Completed, bool ModuleRemoved, string Message);

internal sealed record ForceOutcome(string Name, IReadOnlyList<string> Pinned, bool Completed, string Message);

internal sealed record KickOutcome(string Name, IReadOnlyList<int> KickedPids, int KernelThreadsSkipped, string Method, string Message);

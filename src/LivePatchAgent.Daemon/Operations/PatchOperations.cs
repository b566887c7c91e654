using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.State;
using LivePatchAgent.Core;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Events;
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
    TimeProvider timeProvider,
    ILogger<PatchOperations> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string _running = "none";

    public TimeSpan DefaultTimeout => limits.Value.OperationTimeout;

    public long MaxModuleSize => limits.Value.MaxModuleSize;

    public void Dispose() => _gate.Dispose();

    /// <summary>Verifies, then loads exactly the verified bytes, then waits for the transition unless told not to.</summary>
    public async Task<LoadOutcome> LoadAsync(byte[] module, string? fileName, bool wait, TimeSpan? timeout, Caller caller, CancellationToken cancellationToken)
    {
        CheckSize(module.Length);
        var started = timeProvider.GetTimestamp();
        var deadline = new Deadline(timeProvider, timeout ?? DefaultTimeout);

        // The sealed memfd is filled first and verification reads it back: what is verified is what is loaded.
        using var image = SealedModuleImage.Create(fileName is null ? "module" : Path.GetFileName(fileName), module);
        var verified = verification.Verify(image.ReadAll(), fileName);
        var name = verified.ModuleName ?? "unknown";
        var id = journal.Started("load", name, caller, verified.Sha256);
        if (!verified.Ok)
        {
            journal.Finished(id, "load", name, "refused", verified.Reason!.Code, verified.Message);
            throw new AgentException(verified.Reason, verified.Message);
        }

        await EnterAsync($"load of {name}", deadline, cancellationToken).ConfigureAwait(false);
        try
        {
            PreflightLoad(name);
            await RetryWhileBusyAsync("load", name, deadline, () =>
            {
                var errno = loader.Load(image);
                if (errno != 0)
                {
                    throw LoadError(errno, name);
                }
            }, cancellationToken).ConfigureAwait(false);

            var view = watcher.PollOnce();
            var completed = false;
            if (wait)
            {
                (completed, view) = await WaitAsync(v => v.Snapshot.FindPatch(name) is { Transition: false } || (v.Snapshot.FindPatch(name) is null && v.Snapshot.Leftovers.Any(l => l.Name == name)), deadline, cancellationToken).ConfigureAwait(false);
            }

            var patch = view.Snapshot.FindPatch(name);
            var message = (wait, completed, patch) switch
            {
                (false, _, _) => $"loaded {name}; not waiting for its transition",
                (true, true, { Enabled: true }) => $"loaded {name}: patching complete",
                (true, true, _) => $"loaded {name}, but its transition was reversed: it is no longer enabled",
                _ => $"loaded {name}; its transition is still running after {deadline.Total.TotalSeconds:F0} s (see lpctl status and lpctl blocking)",
            };
            journal.Finished(id, "load", name, completed || !wait ? "ok" : "timeout", completed || !wait ? null : ErrorReason.TransitionTimeout.Code, message);
            return new LoadOutcome(name, patch, completed, verified, timeProvider.GetElapsedTime(started), message);
        }
        catch (AgentException e)
        {
            journal.Finished(id, "load", name, "failed", e.Reason.Code, e.Message);
            throw;
        }
        finally
        {
            _gate.Release();
        }
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
        await EnterAsync($"unload of {name}", deadline, cancellationToken).ConfigureAwait(false);
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
        catch (AgentException e)
        {
            journal.Finished(id, "unload", name, "failed", e.Reason.Code, e.Message);
            throw;
        }
        finally
        {
            _gate.Release();
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
        await EnterAsync($"revert of {name}", deadline, cancellationToken).ConfigureAwait(false);
        var id = journal.Started("revert", name, caller);
        try
        {
            var patch = TransitioningPatch(name, "revert");
            var elapsed = store.Current.Transition?.ElapsedAt(timeProvider.GetUtcNow()) ?? TimeSpan.Zero;
            switch (control.SetEnabled(name, !patch.Enabled, out var error))
            {
                case LivepatchControl.Outcome.Done or LivepatchControl.Outcome.Invalid or LivepatchControl.Outcome.Gone:
                    break;
                case LivepatchControl.Outcome.Denied:
                    throw new AgentException(ErrorReason.KernelRefused, $"cannot revert {name}: {error}; livepatchd needs root");
                default:
                    throw new AgentException(ErrorReason.Internal, $"cannot revert {name}: {error}");
            }

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
        catch (AgentException e)
        {
            journal.Finished(id, "revert", name, "failed", e.Reason.Code, e.Message);
            throw;
        }
        finally
        {
            _gate.Release();
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
        await EnterAsync($"force of {name}", deadline, cancellationToken).ConfigureAwait(false);
        var id = journal.Started("force", name, caller);
        try
        {
            var before = watcher.PollOnce();
            var patch = TransitioningPatch(name, "force");
            var stall = before.Stall?.Summary ?? "not diagnosed";
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

            // The kernel completes a forced transition at its next periodic check, about a second later.
            var (completed, after) = await WaitAsync(v => v.Snapshot.FindPatch(name) is not { Transition: true }, deadline, cancellationToken).ConfigureAwait(false);
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
        catch (AgentException e)
        {
            journal.Finished(id, "force", name, "failed", e.Reason.Code, e.Message);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Kicks the blocked user tasks of the running transition (or writes <c>signal</c> on 4.16-5.0 kernels).</summary>
    public async Task<KickOutcome> KickAsync(string requestedName, Caller caller, CancellationToken cancellationToken)
    {
        var name = ValidName(requestedName);
        var deadline = new Deadline(timeProvider, DefaultTimeout);
        await EnterAsync($"kick of {name}", deadline, cancellationToken).ConfigureAwait(false);
        var id = journal.Started("kick", name, caller);
        try
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

            Publish(AgentEventKind.TasksKicked, name, outcome.Message, null);
            journal.Finished(id, "kick", name, "ok", null, outcome.Message);
            return outcome;
        }
        catch (AgentException e)
        {
            journal.Finished(id, "kick", name, "failed", e.Reason.Code, e.Message);
            throw;
        }
        finally
        {
            _gate.Release();
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

    private void PreflightLoad(string name)
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
            await pipeline.ExecuteAsync(_ => { action(); return ValueTask.CompletedTask; }, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException)
        {
            var reason = last?.Reason ?? ErrorReason.TransitionInProgress;
            throw new AgentException(reason, $"{last?.Message ?? "the kernel stayed busy"}; gave up after {deadline.Total.TotalSeconds:F0} s");
        }
    }

    /// <summary>Waits for the one-writer gate within the request's deadline.</summary>
    private async Task EnterAsync(string what, Deadline deadline, CancellationToken cancellationToken)
    {
        if (!await _gate.WaitAsync(deadline.Remaining, cancellationToken).ConfigureAwait(false))
        {
            throw new AgentException(ErrorReason.TransitionInProgress,
                $"cannot start the {what}: the {Volatile.Read(ref _running)} is still running after {deadline.Total.TotalSeconds:F0} s");
        }

        Volatile.Write(ref _running, what);
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

internal sealed record LoadOutcome(string Name, LivePatch? Patch, bool TransitionCompleted, VerificationOutcome Verification, TimeSpan Elapsed, string Message);

internal sealed record UnloadOutcome(string Name, bool WasLeftover, TimeSpan Elapsed, string Message);

internal sealed record RevertOutcome(string Name, bool Completed, bool ModuleRemoved, string Message);

internal sealed record ForceOutcome(string Name, IReadOnlyList<string> Pinned, bool Completed, string Message);

internal sealed record KickOutcome(string Name, IReadOnlyList<int> KickedPids, int KernelThreadsSkipped, string Method, string Message);

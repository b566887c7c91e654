using LivePatchAgent.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Watching;
using LivePatchAgent.Linux.Native;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

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
    IOperationJournal journal,
    IOptions<LimitsOptions> limits,
    IOptions<WatchOptions> watch,
    TimeProvider timeProvider,
    ILogger<PatchOperations> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public TimeSpan DefaultTimeout => limits.Value.OperationTimeout;

    public long MaxModuleSize => limits.Value.MaxModuleSize;

    public void Dispose() => _gate.Dispose();

    /// <summary>Verifies, then loads exactly the verified bytes, then waits for the transition unless told not to.</summary>
    public async Task<LoadOutcome> LoadAsync(byte[] module, string? fileName, bool wait, TimeSpan? timeout, Caller caller, CancellationToken cancellationToken)
    {
        CheckSize(module.Length);
        var started = timeProvider.GetTimestamp();
        var deadline = timeout ?? DefaultTimeout;

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

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
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
                _ => $"loaded {name}; its transition is still running after {deadline.TotalSeconds:F0} s (see lpctl status and lpctl blocking)",
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
        var deadline = timeout ?? DefaultTimeout;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
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

    private async Task DisableAsync(string name, LivePatch patch, TimeSpan deadline, CancellationToken cancellationToken)
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
                $"{name} is disabled but its unpatching transition did not finish within {deadline.TotalSeconds:F0} s; it is still running (see lpctl blocking)");
        }
    }

    private async Task RemoveModuleAsync(string name, TimeSpan deadline, CancellationToken cancellationToken)
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
    private async Task RetryWhileBusyAsync(string operation, string name, TimeSpan deadline, Action action, CancellationToken cancellationToken)
    {
        KernelBusyException? last = null;
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddTimeout(deadline)
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
            throw new AgentException(reason, $"{last?.Message ?? $"the kernel stayed busy"}; gave up after {deadline.TotalSeconds:F0} s");
        }
    }

    /// <summary>Polls the kernel until <paramref name="done"/> holds or the deadline passes.</summary>
    private async Task<(bool Done, AgentView View)> WaitAsync(Func<AgentView, bool> done, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var started = timeProvider.GetTimestamp();
        while (true)
        {
            var view = watcher.PollOnce();
            if (done(view))
            {
                return (true, view);
            }

            if (timeProvider.GetElapsedTime(started) >= deadline)
            {
                return (false, view);
            }

            await Task.Delay(watch.Value.TransitionInterval, timeProvider, cancellationToken).ConfigureAwait(false);
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

using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Daemon.Store;

namespace LivePatchAgent.Daemon.Journal;

/// <summary>
/// At start, after the first snapshot and before anything can mutate: every operation the journal shows as
/// started but never finished (the daemon was killed, or the machine went down, in between) is closed as
/// <em>interrupted</em>, with what the kernel and the store show actually happened. Start-up apply runs after
/// this and skips what is already loaded, so an interrupted load is never loaded twice.
/// </summary>
internal sealed class JournalReconciliation(AuditJournal journal, StateStore state, PatchStore store, OperationTracker tracker, ILogger<JournalReconciliation> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var contents = journal.Open();
        var snapshot = state.Current.Snapshot;
        var unfinished = contents.Unfinished();
        foreach (var started in unfinished)
        {
            var installed = Installed(snapshot.Kernel.Release, started.Patch);
            var (kernelState, message) = Describe(started, snapshot, installed);
            journal.Interrupted(started, kernelState, installed, message);
        }

        // lpctl operations and lpctl wait know the recent operations across a restart (an interrupted one included).
        var recent = JournalHistory.Operations(unfinished.Count == 0 ? contents.Entries : journal.Read().Entries)
            .TakeLast(OperationTracker.RecentLimit)
            .Select(ToState)
            .OfType<OperationState>();
        tracker.Remember(recent);
        return Task.CompletedTask;
    }

    /// <summary>A finished operation of the journal as clients see operations; null for one that is not finished or not known.</summary>
    internal static OperationState? ToState(JournalOperation operation)
    {
        if (operation.Finished is not { } finished || OperationNames.ParseKind(operation.Operation) is not { } kind
            || OperationResult.ParseWord(finished.Outcome) is not { } result)
        {
            return null;
        }

        var outcome = new OperationResult(result, finished.Reason is { } code ? ErrorReason.Find(code) ?? ErrorReason.Unknown : null, finished.Message ?? string.Empty);
        return new OperationState
        {
            Id = operation.Id,
            Kind = kind,
            Patch = operation.Patch,
            Phase = outcome.FinalPhase,
            StartedAt = operation.Started?.Time ?? finished.Time,
            FinishedAt = finished.Time,
            Caller = operation.Started?.Caller ?? "unknown",
            CallerUid = operation.Started?.Uid,
            Message = outcome.Message,
            Result = outcome,
        };
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The patch as the kernel shows it now (patching, unpatching, enabled, disabled, module-only, absent) and a
    /// sentence on what that means for the interrupted operation.
    /// </summary>
    internal static (string KernelState, string Message) Describe(JournalEntry started, KernelSnapshot now, bool? installed)
    {
        if (started.Patch is null)
        {
            return ("absent", started.Operation switch
            {
                "load" => "livepatchd stopped while it verified the module: nothing had reached the kernel",
                "install" => "livepatchd stopped while it verified the module: nothing had reached the store",
                _ => $"livepatchd stopped during the {started.Operation}; each load it had started is listed as an operation of its own",
            });
        }

        var name = started.Patch ?? "?";
        var patch = started.Patch is null ? null : now.FindPatch(started.Patch);
        var kernelState = patch switch
        {
            { Transition: true, Enabled: true } => "patching",
            { Transition: true } => "unpatching",
            { Enabled: true } => "enabled",
            not null => "disabled",
            null when started.Patch is not null && now.Leftovers.Any(l => l.Name == started.Patch) => "module-only",
            _ => "absent",
        };
        var shows = kernelState switch
        {
            "patching" => $"the kernel shows {name} loaded with its patching transition still running",
            "unpatching" => $"the kernel shows {name} with its unpatching transition still running",
            "enabled" => $"the kernel shows {name} loaded and enabled",
            "disabled" => $"the kernel shows {name} registered but disabled",
            "module-only" => $"the kernel shows the module {name} loaded but no live patch of that name (lpctl unload {name} removes it)",
            _ => $"the kernel shows no {name}",
        };
        var store = installed switch
        {
            true => $"; the store holds {name} for {now.Kernel.Release}",
            false => $"; the store does not hold {name} for {now.Kernel.Release}",
            null => string.Empty,
        };

        var sameBoot = started.BootId is not null && started.BootId == now.Kernel.BootId;
        if (!sameBoot)
        {
            // What happened before the reboot is gone with that kernel; say only what this boot shows.
            return (kernelState, $"the machine rebooted since the {started.Operation} started (boot {started.BootId ?? "unknown"}); in this boot {shows}{store}");
        }

        var verdict = (started.Operation, kernelState) switch
        {
            ("load" or "apply" or "startup-apply", "enabled") => "the load completed",
            ("load" or "apply" or "startup-apply", "patching") => "the module was loaded; its transition is still running",
            ("load" or "apply" or "startup-apply", "module-only") => "the module was loaded but its patch is gone (a reversed transition)",
            ("load" or "apply" or "startup-apply", _) => "the load did not take effect",
            ("unload", "absent") => "the unload completed",
            ("unload", "module-only") => "the patch was disabled, but its module was not removed",
            ("unload", "unpatching") => "the patch is being disabled; its transition is still running",
            ("unload", _) => "the unload did not take effect",
            ("install", _) when installed == true => "the install completed",
            ("install", _) when installed == false => "the install did not complete",
            ("uninstall", _) when installed == false => "the uninstall completed",
            ("uninstall", _) when installed == true => "the uninstall did not complete",
            _ => null,
        };
        return (kernelState, verdict is null ? $"{shows}{store}" : $"{verdict}: {shows}{store}");
    }

    private bool? Installed(string? release, string? name)
    {
        if (release is null || name is null)
        {
            return null;
        }

        try
        {
            return store.Find(release, name) is not null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            StoreLog.StoreProblem(logger, $"cannot look up {name} in the store for the journal: {e.Message}");
            return null;
        }
    }
}

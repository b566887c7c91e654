using System.Globalization;
using System.Text;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Core.Transitions;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Linux.Procfs;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Transitions;

/// <summary>
/// Watches the running transition and walks the resolution ladder: past StallAfter it diagnoses the blocking
/// tasks and reports the transition stalled; optionally it kicks blocked user tasks; at ResolveAfter it applies
/// OnStall (revert, force or none). A stall that ends before it is resolved is reported as what ended it: an
/// operator's revert, unload or force (their operations report themselves), or the transition recovering by itself.
/// Every step is an event and a log line naming the patch, how long it has waited, and what blocks it.
/// </summary>
internal sealed class TransitionSupervisor(
    StateStore store,
    EventHub hub,
    BlockingTaskScanner scanner,
    TransitionControl control,
    TransitionInterventions interventions,
    PinStore pins,
    IOptions<TransitionsOptions> options,
    TimeProvider timeProvider,
    ILogger<TransitionSupervisor> logger) : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private readonly StallLadder _ladder = new(options.Value.ToPolicy());
    private DateTimeOffset _lastScan = DateTimeOffset.MinValue;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Pins belong to one boot; the first snapshot (taken by the watcher before us) knows which.
        pins.Load(store.Current.Snapshot.Kernel.BootId);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Tick, timeProvider, stoppingToken).ConfigureAwait(false);
                await EvaluateAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (AgentException e)
            {
                // A rung that fails (e.g. the transition ended while reverting) is logged; the ladder goes on.
                Log.SupervisorStepFailed(logger, e.Reason.Code, e.Message);
            }
        }
    }

    /// <summary>One pass of the ladder against the current view; tests call it with a fake clock.</summary>
    public async Task EvaluateAsync(CancellationToken cancellationToken)
    {
        var view = store.Current;
        var now = timeProvider.GetUtcNow();
        var transition = view.Transition;
        foreach (var step in _ladder.Advance(transition, now))
        {
            switch (step)
            {
                case StallStep.Ended:
                    ReportEnded(_ladder.Ended!);
                    break;
                case StallStep.Stalled:
                    Diagnose(transition!, now, firstTime: true);
                    break;
                case StallStep.Kick:
                    var kick = await FinishedAsync(control.StartKick(transition!.Patch, Caller.Daemon, "livepatchd (Transitions:KickBlockedTasks)"), cancellationToken).ConfigureAwait(false);
                    Log.SupervisorStep(logger, transition.Patch, transition.ElapsedAt(now).TotalSeconds, "kick", kick.Message);
                    break;
                case StallStep.Resolve:
                    try
                    {
                        await ResolveAsync(transition!, now, cancellationToken).ConfigureAwait(false);
                    }
                    catch (AgentException e) when (e.Reason == ErrorReason.NoTransition || e.Reason == ErrorReason.PatchNotFound)
                    {
                        // It finished on its own while the ladder reached for it: that is a recovery, not a failure.
                        Publish(AgentEventKind.TransitionRecovered, transition!.Patch, $"the stalled transition of {transition.Patch} finished on its own just before it was resolved", null, 0);
                    }

                    break;
            }
        }

        if (transition is not null && view.Stall is not null && now - _lastScan >= options.Value.RescanInterval)
        {
            Diagnose(transition, now, firstTime: false);
        }
    }

    /// <summary>
    /// A stalled transition ended before the ladder resolved it. An operator's revert, unload or force reports itself
    /// (its operation publishes what it did); only a transition that finished by itself, perhaps after a kick, is
    /// reported here as recovered.
    /// </summary>
    private void ReportEnded(TransitionView ended)
    {
        var acts = interventions.Since(ended.Patch, ended.Patching, ended.StartedAt);
        if (acts.LastOrDefault(a => a.Kind != InterventionKind.Kick) is { } ending)
        {
            Log.SupervisorStep(logger, ended.Patch, ended.ElapsedAt(timeProvider.GetUtcNow()).TotalSeconds, "ended",
                $"the stalled transition was ended by {ending.By} ({ending.Kind.ToString().ToLowerInvariant()})");
            return;
        }

        var message = acts.LastOrDefault() is { } kick
            ? $"the stalled transition of {ended.Patch} finished after {kick.By} kicked its blocked tasks, before it had to be resolved"
            : $"the stalled transition of {ended.Patch} finished on its own before it had to be resolved";
        Publish(AgentEventKind.TransitionRecovered, ended.Patch, message, null, 0);
    }

    /// <summary>The supervisor's own acts run as operations (journalled like any other); it waits for their end.</summary>
    private static async Task<OperationResult> FinishedAsync(OperationHandle handle, CancellationToken cancellationToken)
    {
        var final = await handle.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        return final.Result!.Kind is OperationResultKind.Refused or OperationResultKind.Failed
            ? throw new AgentException(final.Result.Reason ?? ErrorReason.Internal, final.Result.Message)
            : final.Result;
    }

    private void Diagnose(TransitionView transition, DateTimeOffset now, bool firstTime)
    {
        _lastScan = now;
        var patch = store.Current.Snapshot.FindPatch(transition.Patch);
        var scan = scanner.Scan(transition.Patching, patch, includeStacks: true);
        var elapsed = transition.ElapsedAt(now);
        var summary = Summarize(scan);
        store.SetStall(new StallView(transition.Patch, transition.Patching, now, scan.Tasks.Length, summary) { FirstTask = Brief(scan) });
        if (firstTime)
        {
            Publish(AgentEventKind.TransitionStalled, transition.Patch,
                string.Create(CultureInfo.InvariantCulture, $"the {(transition.Patching ? "patching" : "unpatching")} transition of {transition.Patch} has run {elapsed.TotalSeconds:F0} s: {summary}"),
                elapsed, scan.Tasks.Length);
            foreach (var task in scan.Tasks)
            {
                Log.BlockingTask(logger, transition.Patch, task.Pid, task.Tid, task.Comm, task.Unit ?? "-", task.HeldBy?.Describe() ?? "no patched function found on its stack");
            }
        }
    }

    private async Task ResolveAsync(TransitionView transition, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var elapsed = transition.ElapsedAt(now);
        var summary = store.Current.Stall?.Summary ?? "not diagnosed";
        switch (options.Value.OnStall)
        {
            case OnStall.Revert:
                var revert = await FinishedAsync(control.StartRevert(transition.Patch, null, Caller.Daemon, "livepatchd (Transitions:OnStall=revert)"), cancellationToken).ConfigureAwait(false);
                Log.SupervisorStep(logger, transition.Patch, elapsed.TotalSeconds, "revert", $"{revert.Message}; it was blocked by {summary}");
                break;
            case OnStall.Force:
                var force = await FinishedAsync(control.StartForce(transition.Patch, confirmed: true, Caller.Daemon, "livepatchd (Transitions:OnStall=force)"), cancellationToken).ConfigureAwait(false);
                Log.SupervisorStep(logger, transition.Patch, elapsed.TotalSeconds, "force", $"{force.Message}; it was blocked by {summary}");
                break;
            default:
                Publish(AgentEventKind.StallUnresolved, transition.Patch,
                    string.Create(CultureInfo.InvariantCulture, $"the transition of {transition.Patch} is still stalled after {elapsed.TotalSeconds:F0} s and Transitions:OnStall is none: left alone ({summary})"),
                    elapsed, store.Current.Stall?.BlockingTasks ?? 0);
                break;
        }
    }

    /// <summary>The first blocking thread in a few words, for progress lines: "cat 1234 in lpdemo_sleeper_wait".</summary>
    private static string? Brief(BlockingScan scan) => scan.Tasks.FirstOrDefault() is { } t
        ? string.Create(CultureInfo.InvariantCulture, $"{t.Comm} {t.Pid}{(t.HeldBy is { } h ? $" in {h.Function}" : string.Empty)}")
        : null;

    private static string Summarize(BlockingScan scan)
    {
        if (scan.Tasks.IsEmpty)
        {
            return $"no thread in /proc blocks it ({scan.ThreadsScanned} scanned); idle tasks, which /proc does not show, or a race may hold it";
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{scan.Tasks.Length} blocking thread(s): ");
        text.AppendJoin("; ", scan.Tasks.Take(3).Select(t =>
            string.Create(CultureInfo.InvariantCulture, $"{t.Comm} (pid {t.Pid}{(t.Tid != t.Pid ? $", tid {t.Tid}" : string.Empty)}{(t.Unit is null ? string.Empty : $", {t.Unit}")}) {t.HeldBy?.Describe() ?? "with no patched function on its stack"}")));
        if (scan.Tasks.Length > 3)
        {
            text.Append(CultureInfo.InvariantCulture, $"; and {scan.Tasks.Length - 3} more");
        }

        return text.ToString();
    }

    private void Publish(AgentEventKind kind, string? patch, string message, TimeSpan? elapsed, int blockingTasks)
    {
        foreach (var e in hub.Publish([new AgentEvent { Time = timeProvider.GetUtcNow(), Kind = kind, Patch = patch, Message = message, Elapsed = elapsed, BlockingTasks = blockingTasks }]))
        {
            Log.KernelEvent(logger, e.Message);
        }
    }
}

using System.Globalization;
using System.Text;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
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
/// OnStall (revert, force or none). A stall that ends on its own is reported as recovered. Every step is an event
/// and a log line naming the patch, how long it has waited, and what blocks it.
/// </summary>
internal sealed class TransitionSupervisor(
    StateStore store,
    EventHub hub,
    BlockingTaskScanner scanner,
    PatchOperations operations,
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
                case StallStep.Recovered:
                    Publish(AgentEventKind.TransitionRecovered, _ladderPatch, $"the stalled transition of {_ladderPatch} finished on its own before it had to be resolved", null, 0);
                    break;
                case StallStep.Stalled:
                    Diagnose(transition!, now, firstTime: true);
                    break;
                case StallStep.Kick:
                    var kick = await operations.KickAsync(transition!.Patch, Caller.Daemon, cancellationToken).ConfigureAwait(false);
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

        _ladderPatch = transition?.Patch;
        if (transition is not null && view.Stall is not null && now - _lastScan >= options.Value.RescanInterval)
        {
            Diagnose(transition, now, firstTime: false);
        }
    }

    private string? _ladderPatch;

    private void Diagnose(TransitionView transition, DateTimeOffset now, bool firstTime)
    {
        _lastScan = now;
        var patch = store.Current.Snapshot.FindPatch(transition.Patch);
        var scan = scanner.Scan(transition.Patching, patch, includeStacks: true);
        var elapsed = transition.ElapsedAt(now);
        var summary = Summarize(scan);
        store.SetStall(new StallView(transition.Patch, transition.Patching, now, scan.Tasks.Length, summary));
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
                var revert = await operations.RevertAsync(transition.Patch, null, Caller.Daemon, cancellationToken).ConfigureAwait(false);
                Log.SupervisorStep(logger, transition.Patch, elapsed.TotalSeconds, "revert", $"{revert.Message}; it was blocked by {summary}");
                break;
            case OnStall.Force:
                var force = await operations.ForceAsync(transition.Patch, confirmed: true, Caller.Daemon, cancellationToken).ConfigureAwait(false);
                Log.SupervisorStep(logger, transition.Patch, elapsed.TotalSeconds, "force", $"{force.Message}; it was blocked by {summary}");
                break;
            default:
                Publish(AgentEventKind.StallUnresolved, transition.Patch,
                    string.Create(CultureInfo.InvariantCulture, $"the transition of {transition.Patch} is still stalled after {elapsed.TotalSeconds:F0} s and Transitions:OnStall is none: left alone ({summary})"),
                    elapsed, store.Current.Stall?.BlockingTasks ?? 0);
                break;
        }
    }

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

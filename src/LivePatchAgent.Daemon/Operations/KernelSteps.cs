using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Watching;
using LivePatchAgent.Linux.Native;
using Polly;
using Polly.Retry;

namespace LivePatchAgent.Daemon.Operations;

/// <summary>
/// The steps operations share: waiting for the kernel (through the watcher's one poll loop), waiting for another
/// patch's transition to end before starting one, retrying a busy kernel with backoff, and removing a module once
/// the kernel lets go of it. Each honours the operation's deadline and stop token.
/// </summary>
internal sealed class KernelSteps(KernelWatcher watcher, KernelGate gate, StateStore store, IKernelModuleLoader loader, TimeProvider timeProvider, ILogger<KernelSteps> logger)
{
    public KernelWatcher Watcher => watcher;

    public KernelGate Gate => gate;

    /// <summary>The latest view, as the watcher last published it.</summary>
    public AgentView Current => store.Current;

    /// <summary>Waits until <paramref name="done"/> holds; false (with the last view) when the deadline passes first.</summary>
    public async Task<(bool Done, AgentView View)> WaitAsync(Func<AgentView, bool> done, OperationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            return (true, await watcher.WaitForAsync(done, context.Stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (context.Deadline.IsCancellationRequested)
        {
            return (false, store.Current);
        }
    }

    /// <summary>Waits at most <paramref name="limit"/> (within the deadline) for <paramref name="done"/>.</summary>
    public async Task<(bool Done, AgentView View)> WaitAtMostAsync(Func<AgentView, bool> done, TimeSpan limit, OperationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var grace = new CancellationTokenSource(limit, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(grace.Token, context.Stop);
        try
        {
            return (true, await watcher.WaitForAsync(done, linked.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (grace.IsCancellationRequested || context.Deadline.IsCancellationRequested)
        {
            return (false, store.Current);
        }
    }

    /// <summary>
    /// The kernel runs one transition at a time: while another patch's transition runs, wait for the watcher to see
    /// it end, instead of handing the kernel a module it must refuse. At the deadline this is a refusal that names the
    /// patch in the way.
    /// </summary>
    public async Task WaitTurnAsync(string name, string verb, OperationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var phase = context.Handle.State.Phase;
        var message = context.Handle.State.Message;
        while (store.Current.Transition is { } other && other.Patch != name)
        {
            context.Phase(OperationPhase.Waiting,
                $"waiting for the {(other.Patching ? "patching" : "unpatching")} transition of {other.Patch} to end before the {verb} of {name} (the kernel runs one at a time)");
            var (ended, _) = await WaitAsync(v => v.Transition is not { } t || t.Patch == name || t != other, context).ConfigureAwait(false);
            if (!ended)
            {
                throw new AgentException(ErrorReason.TransitionInProgress,
                    $"cannot {verb} {name}: the {(other.Patching ? "patching" : "unpatching")} transition of {other.Patch} was still running after {context.Timeout.TotalSeconds:F0} s (see lpctl status and lpctl blocking)");
            }
        }

        context.Phase(phase, message);
    }

    /// <summary>
    /// Runs <paramref name="attempt"/> under the gate; while the kernel answers busy, waits for the transition in the
    /// way (when the watcher sees one) or backs off (200 ms doubling to 2 s, with jitter), until the deadline. Then
    /// the last busy error stands, with how long was tried.
    /// </summary>
    public async Task RetryWhileBusyAsync(string name, string verb, Func<Task> attempt, OperationContext context)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        ArgumentNullException.ThrowIfNull(context);
        KernelBusyException? last = null;
        var pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
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
                    Log.RetryingBusy(logger, verb, name, args.RetryDelay);
                    return default;
                },
            })
            .Build();
        try
        {
            await pipeline.ExecuteAsync(async _ =>
            {
                // A transition that slipped in since the last look: wait for it, then try again at once.
                await WaitTurnAsync(name, verb, context).ConfigureAwait(false);
                await attempt().ConfigureAwait(false);
            }, context.Stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.Deadline.IsCancellationRequested && last is not null)
        {
            throw new AgentException(last.Reason, $"{last.Message}; gave up after {context.Timeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>
    /// Removes a module. The kernel drops a patch's module reference moments after its directory goes, and
    /// delete_module says EWOULDBLOCK until then, so busy is retried until the deadline.
    /// </summary>
    public Task RemoveModuleAsync(string name, OperationContext context) =>
        RetryWhileBusyAsync(name, "removal", () => gate.MutateAsync(() =>
        {
            var errno = loader.Remove(name);
            if (errno is not (0 or KernelModules.Enoent))
            {
                throw KernelErrors.ForRemove(errno, name, store.Current.Snapshot.Kernel);
            }
        }, context.Stop), context);
}

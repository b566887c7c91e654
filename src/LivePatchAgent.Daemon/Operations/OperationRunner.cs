using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Daemon.Configuration;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Operations;

/// <summary>
/// Runs every mutation as an operation, the same way: a started entry in the audit journal before anything acts
/// (the journal's id is the operation's id), the daemon's deadline (Limits:OperationTimeout, or the request's own),
/// phases and progress for its followers, and one result, set once and journalled. The operation runs in the
/// background, so it outlives the client that started it.
/// </summary>
internal sealed class OperationRunner(
    IOperationJournal journal,
    OperationTracker tracker,
    IOptions<LimitsOptions> limits,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<OperationRunner> logger)
{
    /// <summary>The longest deadline a request may ask for.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    /// <summary>The daemon's own deadline for operations that do not ask for one.</summary>
    public TimeSpan DefaultTimeout => limits.Value.OperationTimeout;

    /// <summary>
    /// Journals the start (throwing journal-unavailable when that cannot be written: then nothing happens), registers
    /// the operation, and runs <paramref name="body"/> in the background. Returns at once with the operation's handle.
    /// </summary>
    public OperationHandle Start(OperationRequest request, Func<OperationContext, Task<OperationEnd>> body)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(body);
        var name = OperationNames.Of(request.Kind);
        var id = journal.Started(name, request.Patch, request.Caller);
        var timeout = request.Timeout ?? DefaultTimeout;
        var state = new OperationState
        {
            Id = id,
            Kind = request.Kind,
            Patch = request.Patch,
            Phase = request.FirstPhase,
            StartedAt = timeProvider.GetUtcNow(),
            Caller = request.Caller.Description,
            CallerUid = request.Caller.Uid,
            Message = request.FirstMessage,
            Timeout = timeout,
        };
        var handle = tracker.Begin(state, request.CancelRefusal ?? CancelPolicy.ByPhase);
        _ = Task.Run(() => RunAsync(handle, request, timeout, body));
        return handle;
    }

    private async Task RunAsync(OperationHandle handle, OperationRequest request, TimeSpan timeout, Func<OperationContext, Task<OperationEnd>> body)
    {
        using var deadline = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, handle.CancelRequested, lifetime.ApplicationStopping);
        var context = new OperationContext(handle, request.Caller, journal, timeout, deadline.Token, linked.Token);
        OperationEnd end;
        try
        {
            end = await body(context).ConfigureAwait(false);
        }
        catch (AgentException e)
        {
            end = new OperationEnd(new OperationResult(context.HasActed ? OperationResultKind.Failed : OperationResultKind.Refused, e.Reason, e.Message), null);
        }
        catch (OperationCanceledException) when (handle.CancelRequested.IsCancellationRequested)
        {
            end = new OperationEnd(new OperationResult(OperationResultKind.Cancelled, ErrorReason.OperationCancelled,
                $"cancelled by request while {OperationNames.Of(handle.State.Phase)}" + (context.HasActed ? "; lpctl status shows where the kernel got to" : "; nothing reached the kernel")), null);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            end = new OperationEnd(new OperationResult(OperationResultKind.Cancelled, ErrorReason.OperationCancelled,
                "livepatchd stopped while the operation waited; lpctl status shows where the kernel got to"), null);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            end = new OperationEnd(new OperationResult(
                context.HasActed ? OperationResultKind.StillRunning : OperationResultKind.Refused,
                ErrorReason.TransitionTimeout,
                $"gave up after {timeout.TotalSeconds:F0} s while {OperationNames.Of(handle.State.Phase)}: {handle.State.Message}"), null);
        }
#pragma warning disable CA1031 // The boundary of a background operation: whatever escapes is recorded as its failure, never lost.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.OperationCrashed(logger, handle.Id, e);
            end = new OperationEnd(new OperationResult(OperationResultKind.Failed, ErrorReason.Internal, $"internal error: {e.Message}"), null);
        }

        var final = handle.Complete(end.Result, end.Detail, timeProvider.GetUtcNow());
        try
        {
            journal.Finished(handle.Id, OperationNames.Of(request.Kind), final.Patch, OperationResult.Word(end.Result.Kind), end.Result.Reason?.Code, end.Result.Message);
        }
        catch (AgentException e)
        {
            // The result stands (clients have it); the journal says why its line is missing.
            Log.FinishNotJournalled(logger, handle.Id, e.Message);
        }
    }
}

/// <summary>What to start.</summary>
/// <param name="Kind">The operation.</param>
/// <param name="Patch">The patch, when known before it runs.</param>
/// <param name="Caller">Who asked.</param>
/// <param name="Timeout">The request's deadline; null for Limits:OperationTimeout.</param>
internal sealed record OperationRequest(OperationKind Kind, string? Patch, Caller Caller, TimeSpan? Timeout)
{
    public OperationPhase FirstPhase { get; init; } = OperationPhase.Acting;

    public string FirstMessage { get; init; } = "starting";

    /// <summary>Why the operation may not be cancelled in a given state (null: it may); <see cref="CancelPolicy.ByPhase"/> by default.</summary>
    public Func<OperationState, string?>? CancelRefusal { get; init; }
}

/// <summary>How an operation's body ended.</summary>
internal sealed record OperationEnd(OperationResult Result, OperationDetail? Detail);

/// <summary>What an operation's body works with.</summary>
internal sealed class OperationContext(
    OperationHandle handle,
    Caller caller,
    IOperationJournal journal,
    TimeSpan timeout,
    CancellationToken deadline,
    CancellationToken stop)
{
    private int _acted;

    public OperationHandle Handle => handle;

    public long Id => handle.Id;

    public Caller Caller => caller;

    public TimeSpan Timeout => timeout;

    /// <summary>Fires at the deadline only.</summary>
    public CancellationToken Deadline => deadline;

    /// <summary>Fires at the deadline, on an allowed cancel, or when livepatchd stops.</summary>
    public CancellationToken Stop => stop;

    /// <summary>Whether the operation has changed the kernel or the store (an error after that is a failure, not a refusal).</summary>
    public bool HasActed => Volatile.Read(ref _acted) != 0;

    /// <summary>Marks the point after which the kernel or the store may have changed.</summary>
    public void Acting() => Interlocked.Exchange(ref _acted, 1);

    public void Phase(OperationPhase phase, string message, string? patch = null) => handle.Phase(phase, message, patch);

    /// <summary>
    /// Records in the journal what passed verification (the module's name and SHA-256) right before it reaches the
    /// kernel; throws journal-unavailable when that cannot be written, and then the module is not loaded.
    /// </summary>
    public void Checked(string patch, string sha256)
    {
        journal.Checked(handle.Id, OperationNames.Of(handle.State.Kind), patch, sha256);
        handle.Update(s => s with { Patch = patch });
    }

    /// <summary>Ends the operation with a result (for bodies that return from a helper).</summary>
    public static OperationEnd End(OperationResultKind kind, string message, OperationDetail? detail = null, ErrorReason? reason = null) =>
        new(new OperationResult(kind, reason, message), detail);
}

/// <summary>When cancelling is safe.</summary>
internal static class CancelPolicy
{
    /// <summary>
    /// Verifying, waiting for another transition, and waiting for a module to become free may be cancelled; while the
    /// kernel loads a module or runs a transition, stopping the operation would not stop the kernel, so it is
    /// refused with what to do instead.
    /// </summary>
    public static string? ByPhase(OperationState state) => state.Phase switch
    {
        OperationPhase.Verifying or OperationPhase.Waiting or OperationPhase.Removing => null,
        OperationPhase.Loading => "the kernel is loading the module, which cannot be stopped half-way; once its transition starts, `lpctl revert " + (state.Patch ?? "NAME") + "` reverses it",
        OperationPhase.Patching => $"the kernel is applying {state.Patch}: cancelling would only stop waiting; `lpctl revert {state.Patch}` reverses the transition",
        OperationPhase.Unpatching => $"the kernel is removing {state.Patch}: cancelling would only stop waiting; `lpctl revert {state.Patch}` re-enables it",
        _ => $"a {OperationNames.Of(state.Kind)} takes effect at once and cannot be cancelled",
    };
}

/// <summary>An operation made of others (apply's loads, install --now's load): the parent shows the child's progress.</summary>
internal static class ChildOperation
{
    /// <summary>
    /// Follows <paramref name="child"/> to its end, mirroring its phase, patch, progress and message (after
    /// <paramref name="prefix"/>) into the parent's state; returns the child's final state.
    /// </summary>
    public static async Task<OperationState> FollowAsync(OperationContext parent, OperationHandle child, string prefix)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(child);
        // A cancel of the parent is a cancel of the child it waits for (the child's own policy decides if it is safe).
        using var forward = parent.Handle.CancelRequested.Register(() => child.RequestCancel());
        await foreach (var state in child.Follow().ReadAllAsync().ConfigureAwait(false))
        {
            if (state.Done)
            {
                break;
            }

            parent.Handle.Update(s => s with
            {
                Phase = state.Phase,
                Patch = state.Patch ?? s.Patch,
                Progress = state.Progress,
                Blocking = state.Blocking,
                BlockingTasks = state.BlockingTasks,
                Message = $"{prefix}{state.Message} (operation {state.Id})",
            });
        }

        return await child.Completion.ConfigureAwait(false);
    }
}

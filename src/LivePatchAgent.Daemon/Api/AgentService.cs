using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using LivePatchAgent.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Journal;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Daemon.Store;
using LivePatchAgent.Linux.Procfs;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.Extensions.Options;
using V1 = LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Daemon.Api;

/// <summary>
/// The livepatch.v1.Agent service. Every answer comes from the cached <see cref="StateStore"/> view; nothing
/// here touches sysfs.
/// </summary>
internal sealed class AgentService(
    StateStore store,
    KernelSnapshotReader reader,
    EventHub hub,
    DaemonInfo daemon,
    ModuleVerification verification,
    OperationTracker operations,
    PatchLoader loader,
    PatchUnloader unloader,
    TransitionControl transitions,
    PatchInstaller installer,
    PatchApplier applier,
    Health.PatchQuarantine quarantine,
    BlockingTaskScanner scanner,
    AuditJournal journal,
    CallerAuthorization authorization,
    CallerLimits limits,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    IOptions<CheckOptions> check,
    Metrics.MetricsService metrics,
    ILogger<AgentService> logger)
    : V1.Agent.AgentBase
{
    public override Task<V1.AgentStatus> GetStatus(V1.GetStatusRequest request, ServerCallContext context)
    {
        var view = store.Current;
        var status = ProtoMapper.ToStatus(view, daemon, timeProvider.GetUtcNow());
        if (view.Posture is { } posture)
        {
            status.Posture = PostureMapper.ToPosture(posture, check.Value.FailOnSeverity, withAdvisories: false);
        }

        status.Health = HealthMapper.ToHealth(view.Health);
        return Task.FromResult(status);
    }

    public override Task<V1.HealthStatus> GetHealth(V1.GetHealthRequest request, ServerCallContext context) =>
        Task.FromResult(HealthMapper.ToHealth(store.Current.Health));

    public override async Task<V1.ReleaseQuarantineResponse> ReleaseQuarantine(V1.ReleaseQuarantineRequest request, ServerCallContext context)
    {
        var operation = await FinishAsync(quarantine.StartRelease(request.Name, PeerCredentials.Caller(context)), context).ConfigureAwait(false);
        return new V1.ReleaseQuarantineResponse { Name = operation.Patch, Message = operation.Result.Message, OperationId = operation.Id, Result = operation.Result };
    }

    public override Task<V1.Posture> GetPosture(V1.GetPostureRequest request, ServerCallContext context)
    {
        // Before the first evaluation (the first seconds after start) the answer is an unknown posture that says so.
        var posture = store.Current.Posture ?? PostureMapper.NotYetEvaluated(timeProvider.GetUtcNow());
        return Task.FromResult(PostureMapper.ToPosture(posture, check.Value.FailOnSeverity, withAdvisories: true));
    }

    public override Task<V1.GetMetricsResponse> GetMetrics(V1.GetMetricsRequest request, ServerCallContext context) =>
        Task.FromResult(new V1.GetMetricsResponse
        {
            Text = metrics.Render(),
            ContentType = Metrics.Exposition.ContentType,
            Textfile = metrics.FilePath,
            TextfileWritten = metrics.FileWritten,
        });

    public override Task<V1.ListPatchesResponse> ListPatches(V1.ListPatchesRequest request, ServerCallContext context)
    {
        var view = store.Current;
        var response = new V1.ListPatchesResponse { SnapshotTime = Timestamp.FromDateTimeOffset(view.Snapshot.TakenAt) };
        response.Patches.AddRange(view.Snapshot.Patches.Select(p => ProtoMapper.ToPatch(reader.WithModuleState(p), view)));
        response.Leftovers.AddRange(view.Snapshot.Leftovers.Select(l => ProtoMapper.ToLeftover(l, view)));
        return Task.FromResult(response);
    }

    public override Task<V1.Patch> GetPatch(V1.GetPatchRequest request, ServerCallContext context)
    {
        if (ModuleName.Validate(request.Name) is { } problem)
        {
            throw new AgentException(ErrorReason.InvalidArgument, $"invalid patch name: {problem}");
        }

        var view = store.Current;
        var name = ModuleName.Normalize(request.Name);
        var patch = view.Snapshot.FindPatch(name)
            ?? throw new AgentException(ErrorReason.PatchNotFound, view.Snapshot.Kernel.LivepatchSupported
                ? $"patch \"{name}\" is not loaded"
                : $"patch \"{name}\" is not loaded: the running kernel has no livepatch support");
        return Task.FromResult(ProtoMapper.ToPatch(reader.WithModuleState(patch), view));
    }

    public override Task<V1.VerifyModuleResponse> VerifyModule(V1.VerifyModuleRequest request, ServerCallContext context)
    {
        verification.CheckUploadSize(request.Module.Length);
        var outcome = verification.VerifyUpload(request.Module.ToByteArray(), NullIfEmpty(request.FileName));
        return Task.FromResult(ProtoMapper.ToVerification(outcome));
    }

    public override async Task<V1.LoadPatchResponse> LoadPatch(V1.LoadPatchRequest request, ServerCallContext context) =>
        (await FinishAsync(Start(new V1.StartOperationRequest { Load = request }, context), context).ConfigureAwait(false)).Load;

    public override async Task<V1.InstallPatchResponse> InstallPatch(V1.InstallPatchRequest request, ServerCallContext context) =>
        (await FinishAsync(Start(new V1.StartOperationRequest { Install = request }, context), context).ConfigureAwait(false)).Install;

    public override async Task<V1.UninstallPatchResponse> UninstallPatch(V1.UninstallPatchRequest request, ServerCallContext context) =>
        (await FinishAsync(Start(new V1.StartOperationRequest { Uninstall = request }, context), context).ConfigureAwait(false)).Uninstall;

    public override Task<V1.ListInstalledResponse> ListInstalled(V1.ListInstalledRequest request, ServerCallContext context)
    {
        var listing = installer.List(NullIfEmpty(request.KernelRelease), request.AllKernels);
        var response = new V1.ListInstalledResponse { RunningRelease = listing.RunningRelease ?? string.Empty };
        response.Patches.AddRange(listing.Patches.Select(ProtoMapper.ToInstalled));
        response.Problems.AddRange(listing.Problems);
        return Task.FromResult(response);
    }

    public override async Task<V1.ApplyInstalledResponse> ApplyInstalled(V1.ApplyInstalledRequest request, ServerCallContext context) =>
        (await FinishAsync(Start(new V1.StartOperationRequest { Apply = request }, context), context).ConfigureAwait(false)).Apply;

    public override async Task<V1.UnloadPatchResponse> UnloadPatch(V1.UnloadPatchRequest request, ServerCallContext context) =>
        (await FinishAsync(Start(new V1.StartOperationRequest { Unload = request }, context), context).ConfigureAwait(false)).Unload;

    public override async Task<V1.BlockingTasksResponse> GetBlockingTasks(V1.GetBlockingTasksRequest request, ServerCallContext context)
    {
        if (request.IncludeStacks)
        {
            await authorization.DemandAsync(context, "with stacks shows other users' kernel stacks, which is for administrators (ask without stacks)").ConfigureAwait(false);
        }

        var view = store.Current;
        var response = new V1.BlockingTasksResponse();
        if (view.Transition is not { } transition)
        {
            response.Message = "no transition is running";
            return response;
        }

        if (request.Name.Length > 0 && ModuleName.Normalize(request.Name) != transition.Patch)
        {
            throw new AgentException(ErrorReason.NoTransition, $"{request.Name} is not in transition; {transition.Patch} is");
        }

        // An explicit request: the scan reads /proc now, which is the point of asking.
        var patch = view.Snapshot.FindPatch(transition.Patch);
        var scan = scanner.Scan(transition.Patching, patch, request.IncludeStacks);
        var elapsed = transition.ElapsedAt(timeProvider.GetUtcNow());
        response.Patch = transition.Patch;
        response.Patching = transition.Patching;
        response.Elapsed = Duration.FromTimeSpan(elapsed);
        response.ThreadsScanned = (uint)scan.ThreadsScanned;
        response.Tasks.AddRange(scan.Tasks.Select(ProtoMapper.ToBlockingTask));
        response.Message = scan.Tasks.IsEmpty
            ? $"{transition.Patch} has been {(transition.Patching ? "patching" : "unpatching")} for {elapsed.TotalSeconds:F0} s, but no thread in /proc blocks it ({scan.ThreadsScanned} scanned): idle tasks, which /proc does not show, or a race hold it; it usually completes within seconds"
            : $"{scan.Tasks.Length} thread(s) block the {(transition.Patching ? "patching" : "unpatching")} transition of {transition.Patch} ({elapsed.TotalSeconds:F0} s so far)";
        return response;
    }

    public override async Task<V1.RevertTransitionResponse> RevertTransition(V1.RevertTransitionRequest request, ServerCallContext context) =>
        (await FinishAsync(Start(new V1.StartOperationRequest { Revert = request }, context), context).ConfigureAwait(false)).Revert;

    public override async Task<V1.ForceTransitionResponse> ForceTransition(V1.ForceTransitionRequest request, ServerCallContext context) =>
        (await FinishAsync(Start(new V1.StartOperationRequest { Force = request }, context), context).ConfigureAwait(false)).Force;

    public override async Task<V1.KickTasksResponse> KickTasks(V1.KickTasksRequest request, ServerCallContext context) =>
        (await FinishAsync(Start(new V1.StartOperationRequest { Kick = request }, context), context).ConfigureAwait(false)).Kick;

    public override async Task<V1.Operation> StartOperation(V1.StartOperationRequest request, ServerCallContext context) =>
        await ToOperationAsync(Start(request, context).State, context).ConfigureAwait(false);

    public override async Task<V1.Operation> GetOperation(V1.GetOperationRequest request, ServerCallContext context) =>
        await ToOperationAsync(operations.Find(request.Id) ?? throw NoSuchOperation(request.Id), context).ConfigureAwait(false);

    public override async Task<V1.ListOperationsResponse> ListOperations(V1.ListOperationsRequest request, ServerCallContext context)
    {
        var showCaller = await authorization.IsAdminAsync(context).ConfigureAwait(false);
        var response = new V1.ListOperationsResponse();
        response.Operations.AddRange(operations.List(request.IncludeFinished).Select(o => ToOperation(o, showCaller)));
        return response;
    }

    public override async Task WatchOperation(V1.WatchOperationRequest request, IServerStreamWriter<V1.Operation> responseStream, ServerCallContext context)
    {
        var states = operations.Follow(request.Id) ?? throw NoSuchOperation(request.Id);
        using var slot = limits.EnterWatch(context);
        // A follower goes away (lpctl detaches on Ctrl-C) or the daemon stops; the operation goes on either way.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var showCaller = await authorization.IsAdminAsync(context).ConfigureAwait(false);
        try
        {
            await foreach (var state in states.ReadAllAsync(ended.Token).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(ToOperation(state, showCaller), ended.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The follower detached.
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "livepatchd is shutting down"));
        }
    }

    public override async Task<V1.Operation> CancelOperation(V1.CancelOperationRequest request, ServerCallContext context)
    {
        if (operations.FindRunning(request.Id) is not { } running)
        {
            var finished = operations.Find(request.Id) ?? throw NoSuchOperation(request.Id);
            throw new AgentException(ErrorReason.OperationNotCancellable,
                $"operation {request.Id} has already ended ({OperationResult.Word(finished.Result!.Kind)}): {finished.Message}");
        }

        if (running.RequestCancel() is { } refusal)
        {
            throw new AgentException(ErrorReason.OperationNotCancellable, $"operation {request.Id} cannot be cancelled now: {refusal}");
        }

        Log.OperationCancelRequested(logger, request.Id, PeerCredentials.Caller(context).Description);
        return await ToOperationAsync(running.State, context).ConfigureAwait(false);
    }

    public override async Task WatchEvents(V1.WatchEventsRequest request, IServerStreamWriter<V1.Event> responseStream, ServerCallContext context)
    {
        using var slot = limits.EnterWatch(context);
        using var subscription = hub.Subscribe();
        // Headers go out once the subscription exists, so a client can tell when it will see every later event.
        await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);
        // A stream ends when the subscriber goes away or the daemon stops; without the second, a graceful
        // shutdown would wait for every watcher to hang up.
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await foreach (var e in subscription.ReadAllAsync(ended.Token).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(ProtoMapper.ToEvent(e), ended.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The subscriber went away; that is how most watches end.
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "livepatchd is shutting down"));
        }
        finally
        {
            if (subscription.Dropped > 0)
            {
                Log.SubscriberLagged(logger, subscription.Id, subscription.Dropped);
            }
        }
    }

    public override Task<V1.GetHistoryResponse> GetHistory(V1.GetHistoryRequest request, ServerCallContext context)
    {
        var limit = request.Limit == 0 ? JournalHistory.DefaultLimit : (int)request.Limit;
        if (limit > JournalHistory.MaxLimit)
        {
            throw new AgentException(ErrorReason.InvalidArgument, $"limit {request.Limit} is out of range [1, {JournalHistory.MaxLimit}]");
        }

        string? patch = null;
        if (request.Patch.Length > 0)
        {
            if (ModuleName.Validate(request.Patch) is { } problem)
            {
                throw new AgentException(ErrorReason.InvalidArgument, $"invalid patch name: {problem}");
            }

            patch = ModuleName.Normalize(request.Patch);
        }

        var contents = journal.Read();
        var (selected, total) = JournalHistory.Select(JournalHistory.Operations(contents.Entries), request.Since?.ToDateTimeOffset(), patch, limit);
        var response = new V1.GetHistoryResponse { Directory = journal.Directory, Total = (uint)total };
        response.Operations.AddRange(selected.Select(ProtoMapper.ToHistory));
        response.Problems.AddRange(contents.Problems.Select(p => p.ToString()));
        return Task.FromResult(response);
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static TimeSpan? Timeout(Duration? timeout)
    {
        if (timeout is null)
        {
            return null;
        }

        var value = timeout.ToTimeSpan();
        return value <= TimeSpan.Zero || value > OperationRunner.MaxTimeout
            ? throw new AgentException(ErrorReason.InvalidArgument, $"timeout {value} is out of range (0 s, 1 h]")
            : value;
    }

    /// <summary>Starts the operation a request asks for (its checks that need no kernel run here, synchronously).</summary>
    private OperationHandle Start(V1.StartOperationRequest request, ServerCallContext context)
    {
        var caller = PeerCredentials.Caller(context);
        return request.RequestCase switch
        {
            V1.StartOperationRequest.RequestOneofCase.Load => loader.Start(
                new LoadRequest(request.Load.Module.ToByteArray(), NullIfEmpty(request.Load.FileName), !request.Load.NoWait, Timeout(request.Load.Timeout)), caller),
            V1.StartOperationRequest.RequestOneofCase.Unload => unloader.Start(request.Unload.Name, Timeout(request.Unload.Timeout), caller),
            V1.StartOperationRequest.RequestOneofCase.Install => installer.StartInstall(ToInstall(request.Install), caller),
            V1.StartOperationRequest.RequestOneofCase.Uninstall => installer.StartUninstall(request.Uninstall.Name, NullIfEmpty(request.Uninstall.KernelRelease), caller),
            V1.StartOperationRequest.RequestOneofCase.Apply => applier.StartApply(request.Apply.Resume, Timeout(request.Apply.Timeout), caller),
            V1.StartOperationRequest.RequestOneofCase.Revert => transitions.StartRevert(request.Revert.Name, Timeout(request.Revert.Timeout), caller),
            V1.StartOperationRequest.RequestOneofCase.Force => transitions.StartForce(request.Force.Name, request.Force.Confirm, caller),
            V1.StartOperationRequest.RequestOneofCase.Kick => transitions.StartKick(request.Kick.Name, caller),
            _ => throw new AgentException(ErrorReason.InvalidArgument, "the request names no operation (set one of load, unload, install, uninstall, apply, revert, force, kick)"),
        };
    }

    /// <summary>
    /// For the older mutation methods: waits for the operation's end (the operation goes on if the caller hangs up)
    /// and answers with it; a refusal or failure is the call's error, with its reason.
    /// </summary>
    private async Task<V1.Operation> FinishAsync(OperationHandle handle, ServerCallContext context)
    {
        var final = await handle.Completion.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        var result = final.Result!;
        // A load, revert, force or install answer says itself whether the transition completed
        // (transition_completed, completed); an unload's never could, so there a transition still running at the
        // deadline stays the error it always was.
        var saysIncomplete = final.Kind is OperationKind.Load or OperationKind.Revert or OperationKind.Force or OperationKind.Install;
        if (result.Kind is OperationResultKind.Refused or OperationResultKind.Failed or OperationResultKind.Cancelled or OperationResultKind.Interrupted
            || (result.Kind == OperationResultKind.StillRunning && !saysIncomplete))
        {
            throw new AgentException(result.Reason ?? ErrorReason.Internal, result.Message);
        }

        return await ToOperationAsync(final, context).ConfigureAwait(false);
    }

    private async Task<V1.Operation> ToOperationAsync(OperationState state, ServerCallContext context) =>
        ToOperation(state, await authorization.IsAdminAsync(context).ConfigureAwait(false));

    /// <summary>The operation as a caller sees it: only administrators see who started it.</summary>
    private V1.Operation ToOperation(OperationState state, bool showCaller) =>
        ProtoMapper.ToOperation(state, store.Current, timeProvider.GetUtcNow(), showCaller);

    private static AgentException NoSuchOperation(long id) =>
        new(ErrorReason.OperationNotFound, $"no operation {id}: livepatchd knows the running ones and the last {OperationTracker.RecentLimit} finished (lpctl operations); older ones are in lpctl history");

    private static InstallRequest ToInstall(V1.InstallPatchRequest request)
    {
        var metadata = request.Metadata ?? new V1.InstallMetadata();
        // The operator's metadata is shown beside signed metadata, so it follows the same rules: a malformed CVE id
        // is refused here, not stored to mislead whoever reads the posture later.
        foreach (var id in metadata.CveIds)
        {
            if (PatchMetadata.DescribeCveIdProblem(id) is { } problem)
            {
                throw new AgentException(ErrorReason.InvalidArgument, $"operator metadata: CVE id {problem}");
            }
        }

        if (metadata.Description.Length > 0 && PatchMetadata.SummaryProblem(metadata.Description) is { } descriptionProblem)
        {
            throw new AgentException(ErrorReason.InvalidArgument, $"operator metadata: the description {descriptionProblem}");
        }

        return new InstallRequest(request.Module.ToByteArray(), NullIfEmpty(request.FileName), NullIfEmpty(request.KernelRelease), request.LoadNow, Timeout(request.Timeout))
        {
            Metadata = new InstallMetadataInput
            {
                Description = NullIfEmpty(metadata.Description),
                CveIds = [.. metadata.CveIds],
                CumulativeVersion = metadata.HasCumulativeVersion ? metadata.CumulativeVersion : null,
                Replace = metadata.HasReplace ? metadata.Replace : null,
            },
        };
    }
}

/// <summary>Facts about this daemon process.</summary>
internal sealed record DaemonInfo(string Version, DateTimeOffset StartedAt);

using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using LivePatchAgent.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Journal;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Daemon.Store;
using LivePatchAgent.Linux.Procfs;
using V1 = LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Daemon.Api;

/// <summary>
/// The livepatch.v1.Agent service. Every answer comes from the cached <see cref="StateStore"/> view; nothing
/// here touches sysfs.
/// </summary>
internal sealed class AgentService(
    StateStore store,
    EventHub hub,
    DaemonInfo daemon,
    ModuleVerification verification,
    PatchOperations operations,
    InstalledPatches installed,
    BlockingTaskScanner scanner,
    AuditJournal journal,
    CallerAuthorization authorization,
    CallerLimits limits,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<AgentService> logger)
    : V1.Agent.AgentBase
{
    public override Task<V1.AgentStatus> GetStatus(V1.GetStatusRequest request, ServerCallContext context)
    {
        var status = ProtoMapper.ToStatus(store.Current, daemon, timeProvider.GetUtcNow());
        status.StartupApply = ProtoMapper.ToStartupApply(installed.Status);
        return Task.FromResult(status);
    }

    public override Task<V1.ListPatchesResponse> ListPatches(V1.ListPatchesRequest request, ServerCallContext context)
    {
        var view = store.Current;
        var response = new V1.ListPatchesResponse { SnapshotTime = Timestamp.FromDateTimeOffset(view.Snapshot.TakenAt) };
        response.Patches.AddRange(view.Snapshot.Patches.Select(p => ProtoMapper.ToPatch(p, view)));
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
        return Task.FromResult(ProtoMapper.ToPatch(patch, view));
    }

    public override Task<V1.VerifyModuleResponse> VerifyModule(V1.VerifyModuleRequest request, ServerCallContext context)
    {
        CheckUpload(request.Module.Length);
        var outcome = verification.VerifyUpload(request.Module.ToByteArray(), NullIfEmpty(request.FileName));
        return Task.FromResult(ProtoMapper.ToVerification(outcome));
    }

    public override async Task<V1.LoadPatchResponse> LoadPatch(V1.LoadPatchRequest request, ServerCallContext context)
    {
        CheckUpload(request.Module.Length);
        var outcome = await operations.LoadAsync(
            request.Module.ToByteArray(), NullIfEmpty(request.FileName), !request.NoWait, Timeout(request.Timeout),
            PeerCredentials.Caller(context), Stopping(context)).ConfigureAwait(false);
        return ProtoMapper.ToLoad(outcome, store.Current);
    }

    public override async Task<V1.InstallPatchResponse> InstallPatch(V1.InstallPatchRequest request, ServerCallContext context)
    {
        CheckUpload(request.Module.Length);
        var metadata = request.Metadata ?? new V1.InstallMetadata();
        var install = new InstallRequest(request.Module.ToByteArray(), NullIfEmpty(request.FileName), NullIfEmpty(request.KernelRelease), request.LoadNow, Timeout(request.Timeout))
        {
            Metadata = new InstallMetadataInput
            {
                Description = NullIfEmpty(metadata.Description),
                CveIds = [.. metadata.CveIds],
                CumulativeVersion = metadata.HasCumulativeVersion ? metadata.CumulativeVersion : null,
                Replace = metadata.HasReplace ? metadata.Replace : null,
            },
        };
        var outcome = await installed.InstallAsync(install, PeerCredentials.Caller(context), Stopping(context)).ConfigureAwait(false);
        var response = new V1.InstallPatchResponse
        {
            Installed = ProtoMapper.ToInstalled(outcome.Installed),
            Verification = ProtoMapper.ToVerification(outcome.Verification),
            ReplacedPrevious = outcome.ReplacedPrevious,
            Message = outcome.Message,
        };
        if (outcome.Load is { } load)
        {
            response.Load = ProtoMapper.ToLoad(load, store.Current);
            response.Installed = ProtoMapper.ToInstalled(installed.List(outcome.Installed.Manifest.KernelRelease, allKernels: false)
                .Patches.FirstOrDefault(p => p.Manifest.Name == outcome.Installed.Manifest.Name) ?? outcome.Installed);
        }

        return response;
    }

    public override Task<V1.UninstallPatchResponse> UninstallPatch(V1.UninstallPatchRequest request, ServerCallContext context)
    {
        var outcome = installed.Uninstall(request.Name, NullIfEmpty(request.KernelRelease), PeerCredentials.Caller(context));
        return Task.FromResult(new V1.UninstallPatchResponse
        {
            Name = outcome.Name,
            KernelRelease = outcome.KernelRelease,
            StillLoaded = outcome.StillLoaded,
            ClearedInterruptedApply = outcome.ClearedInterruptedApply,
            Message = outcome.Message,
        });
    }

    public override Task<V1.ListInstalledResponse> ListInstalled(V1.ListInstalledRequest request, ServerCallContext context)
    {
        var listing = installed.List(NullIfEmpty(request.KernelRelease), request.AllKernels);
        var response = new V1.ListInstalledResponse { RunningRelease = listing.RunningRelease ?? string.Empty };
        response.Patches.AddRange(listing.Patches.Select(ProtoMapper.ToInstalled));
        response.Problems.AddRange(listing.Problems);
        return Task.FromResult(response);
    }

    public override async Task<V1.ApplyInstalledResponse> ApplyInstalled(V1.ApplyInstalledRequest request, ServerCallContext context)
    {
        var run = await installed.ApplyAsync("lpctl apply", request.Resume, Timeout(request.Timeout), PeerCredentials.Caller(context), Stopping(context)).ConfigureAwait(false);
        var response = new V1.ApplyInstalledResponse { Resumed = run.Resumed, Message = run.Message };
        response.Results.AddRange(run.Results.Select(ProtoMapper.ToApplyResult));
        return response;
    }

    public override async Task<V1.UnloadPatchResponse> UnloadPatch(V1.UnloadPatchRequest request, ServerCallContext context)
    {
        var outcome = await operations.UnloadAsync(request.Name, Timeout(request.Timeout), PeerCredentials.Caller(context), Stopping(context)).ConfigureAwait(false);
        return new V1.UnloadPatchResponse
        {
            Name = outcome.Name,
            WasLeftover = outcome.WasLeftover,
            Elapsed = Duration.FromTimeSpan(outcome.Elapsed),
            Message = outcome.Message,
        };
    }

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

    public override async Task<V1.RevertTransitionResponse> RevertTransition(V1.RevertTransitionRequest request, ServerCallContext context)
    {
        var outcome = await operations.RevertAsync(request.Name, Timeout(request.Timeout), PeerCredentials.Caller(context), Stopping(context)).ConfigureAwait(false);
        return new V1.RevertTransitionResponse { Name = outcome.Name, Completed = outcome.Completed, ModuleRemoved = outcome.ModuleRemoved, Message = outcome.Message };
    }

    public override async Task<V1.ForceTransitionResponse> ForceTransition(V1.ForceTransitionRequest request, ServerCallContext context)
    {
        var outcome = await operations.ForceAsync(request.Name, request.Confirm, PeerCredentials.Caller(context), Stopping(context)).ConfigureAwait(false);
        var response = new V1.ForceTransitionResponse { Name = outcome.Name, Completed = outcome.Completed, Message = outcome.Message };
        response.Pinned.AddRange(outcome.Pinned);
        return response;
    }

    public override async Task<V1.KickTasksResponse> KickTasks(V1.KickTasksRequest request, ServerCallContext context)
    {
        var outcome = await operations.KickAsync(request.Name, PeerCredentials.Caller(context), Stopping(context)).ConfigureAwait(false);
        var response = new V1.KickTasksResponse
        {
            Name = outcome.Name,
            KernelThreadsSkipped = (uint)outcome.KernelThreadsSkipped,
            Method = outcome.Method,
            Message = outcome.Message,
        };
        response.KickedPids.AddRange(outcome.KickedPids);
        return response;
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
        return value <= TimeSpan.Zero || value > TimeSpan.FromHours(1)
            ? throw new AgentException(ErrorReason.InvalidArgument, $"timeout {value} is out of range (0 s, 1 h]")
            : value;
    }

    private void CheckUpload(int length)
    {
        if (length == 0)
        {
            throw new AgentException(ErrorReason.InvalidArgument, "no module bytes were uploaded");
        }

        if (length > operations.MaxModuleSize)
        {
            throw new AgentException(ErrorReason.ModuleTooLarge, $"the module is {length} bytes; Limits:MaxModuleSize allows {operations.MaxModuleSize}");
        }
    }

    /// <summary>
    /// The token for a long operation: the caller hanging up, or the daemon stopping. Without the second, a
    /// shutdown would wait for every load still waiting on its transition.
    /// </summary>
    private CancellationToken Stopping(ServerCallContext context)
    {
        var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        context.GetHttpContext().Response.RegisterForDispose(linked);
        return linked.Token;
    }
}

/// <summary>Facts about this daemon process.</summary>
internal sealed record DaemonInfo(string Version, DateTimeOffset StartedAt);

using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using LivePatchAgent.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Linux;
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
    HostPaths paths,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime,
    ILogger<AgentService> logger)
    : V1.Agent.AgentBase
{
    public override Task<V1.AgentStatus> GetStatus(V1.GetStatusRequest request, ServerCallContext context) =>
        Task.FromResult(ProtoMapper.ToStatus(store.Current, daemon, timeProvider.GetUtcNow()));

    public override Task<V1.ListPatchesResponse> ListPatches(V1.ListPatchesRequest request, ServerCallContext context)
    {
        var view = store.Current;
        var response = new V1.ListPatchesResponse { SnapshotTime = Timestamp.FromDateTimeOffset(view.Snapshot.TakenAt) };
        response.Patches.AddRange(view.Snapshot.Patches.Select(p => ProtoMapper.ToPatch(p, view)));
        response.Leftovers.AddRange(view.Snapshot.Leftovers.Select(ProtoMapper.ToLeftover));
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
        var outcome = verification.Verify(request.Module.Memory, NullIfEmpty(request.FileName));
        return Task.FromResult(ProtoMapper.ToVerification(outcome));
    }

    public override async Task<V1.LoadPatchResponse> LoadPatch(V1.LoadPatchRequest request, ServerCallContext context)
    {
        CheckUpload(request.Module.Length);
        var outcome = await operations.LoadAsync(
            request.Module.ToByteArray(), NullIfEmpty(request.FileName), !request.NoWait, Timeout(request.Timeout),
            PeerCredentials.Caller(context, paths), context.CancellationToken).ConfigureAwait(false);
        var response = new V1.LoadPatchResponse
        {
            Name = outcome.Name,
            TransitionCompleted = outcome.TransitionCompleted,
            Verification = ProtoMapper.ToVerification(outcome.Verification),
            Elapsed = Duration.FromTimeSpan(outcome.Elapsed),
            Message = outcome.Message,
        };
        if (outcome.Patch is { } patch)
        {
            response.Patch = ProtoMapper.ToPatch(patch, store.Current);
        }

        return response;
    }

    public override async Task<V1.UnloadPatchResponse> UnloadPatch(V1.UnloadPatchRequest request, ServerCallContext context)
    {
        var outcome = await operations.UnloadAsync(request.Name, Timeout(request.Timeout), PeerCredentials.Caller(context, paths), context.CancellationToken).ConfigureAwait(false);
        return new V1.UnloadPatchResponse
        {
            Name = outcome.Name,
            WasLeftover = outcome.WasLeftover,
            Elapsed = Duration.FromTimeSpan(outcome.Elapsed),
            Message = outcome.Message,
        };
    }

    public override async Task WatchEvents(V1.WatchEventsRequest request, IServerStreamWriter<V1.Event> responseStream, ServerCallContext context)
    {
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
}

/// <summary>Facts about this daemon process.</summary>
internal sealed record DaemonInfo(string Version, DateTimeOffset StartedAt);

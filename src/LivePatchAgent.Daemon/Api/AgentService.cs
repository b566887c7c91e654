using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using LivePatchAgent.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Events;
using V1 = LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Daemon.Api;

/// <summary>
/// The livepatch.v1.Agent service. Every answer comes from the cached <see cref="StateStore"/> view; nothing
/// here touches sysfs.
/// </summary>
internal sealed class AgentService(
    StateStore store, EventHub hub, DaemonInfo daemon, TimeProvider timeProvider, IHostApplicationLifetime lifetime, ILogger<AgentService> logger)
    : V1.Agent.AgentBase
{
    public override Task<V1.AgentStatus> GetStatus(V1.GetStatusRequest request, ServerCallContext context) =>
        Task.FromResult(ProtoMapper.ToStatus(store.Current, daemon, timeProvider.GetUtcNow()));

    public override Task<V1.ListPatchesResponse> ListPatches(V1.ListPatchesRequest request, ServerCallContext context)
    {
        var view = store.Current;
        var response = new V1.ListPatchesResponse { SnapshotTime = Timestamp.FromDateTimeOffset(view.Snapshot.TakenAt) };
        response.Patches.AddRange(view.Snapshot.Patches.Select(p => ProtoMapper.ToPatch(p, view)));
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

    public override async Task WatchEvents(V1.WatchEventsRequest request, IServerStreamWriter<V1.Event> responseStream, ServerCallContext context)
    {
        using var subscription = hub.Subscribe();
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
}

/// <summary>Facts about this daemon process.</summary>
internal sealed record DaemonInfo(string Version, DateTimeOffset StartedAt);

using Grpc.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Daemon.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Api;

/// <summary>
/// Per-uid limits on what callers may hold open: connections (counted in connection middleware from
/// SO_PEERCRED, before any HTTP/2 frame is read) and WatchEvents streams. A connection over the limit is kept
/// only to answer each call with limit-exceeded, so the client learns why; a few such connections per uid at
/// most, further ones are closed at once. Memory per connection is bounded by Kestrel's HTTP/2 limits and per
/// watch stream by Api:WatchBufferSize, so a uid's footprint is bounded as a whole.
/// </summary>
internal sealed class CallerLimits(IOptions<LimitsOptions> options, ILogger<CallerLimits> logger)
{
    /// <summary>Connections per uid beyond the limit that are still accepted to carry the refusal.</summary>
    public const int RefusalSlots = 4;

    private const string OverLimitKey = "livepatchd.limit";

    private readonly Lock _lock = new();
    private readonly Dictionary<int, int> _connections = [];
    private readonly Dictionary<int, int> _watches = [];

    /// <summary>Counts the connection against its uid for as long as it is open.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (socket is null || PeerCredentials.Read(socket) is not { } peer)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        var limit = options.Value.MaxConnectionsPerUid;
        int count;
        lock (_lock)
        {
            count = _connections.GetValueOrDefault(peer.Uid) + 1;
            _connections[peer.Uid] = count;
        }

        try
        {
            if (count > limit)
            {
                Log.LimitReached(logger, "connections", peer.Uid, peer.Pid, count - 1, limit);
                if (count > limit + RefusalSlots)
                {
                    connection.Abort(new ConnectionAbortedException($"uid {peer.Uid} has too many connections open"));
                    return;
                }

                connection.Items[OverLimitKey] = $"uid {peer.Uid} already has {limit} connections open to livepatchd (Limits:MaxConnectionsPerUid); close some and retry";
            }

            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            Release(_connections, peer.Uid);
        }
    }

    /// <summary>Throws limit-exceeded when the call came on a connection over its uid's limit.</summary>
    public static void CheckConnection(HttpContext http)
    {
        if (http.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(OverLimitKey, out var message) == true)
        {
            throw new AgentException(ErrorReason.LimitExceeded, (string)message!);
        }
    }

    /// <summary>Takes one of the caller's watch stream slots until the returned object is disposed.</summary>
    public IDisposable EnterWatch(ServerCallContext context)
    {
        if (PeerCredentials.Read(context) is not { } peer)
        {
            return NoSlot.Instance;
        }

        var limit = options.Value.MaxWatchStreamsPerUid;
        lock (_lock)
        {
            var count = _watches.GetValueOrDefault(peer.Uid);
            if (count >= limit)
            {
                Log.LimitReached(logger, "watch streams", peer.Uid, peer.Pid, count, limit);
                throw new AgentException(ErrorReason.LimitExceeded,
                    $"uid {peer.Uid} already has {limit} watch streams open (Limits:MaxWatchStreamsPerUid); end some (e.g. stray `lpctl watch` processes) and retry");
            }

            _watches[peer.Uid] = count + 1;
        }

        return new Slot(this, peer.Uid);
    }

    /// <summary>Open connections and watch streams of a uid, for tests and diagnostics.</summary>
    public (int Connections, int Watches) Usage(int uid)
    {
        lock (_lock)
        {
            return (_connections.GetValueOrDefault(uid), _watches.GetValueOrDefault(uid));
        }
    }

    private void Release(Dictionary<int, int> counts, int uid)
    {
        lock (_lock)
        {
            if (counts.TryGetValue(uid, out var count) && count > 1)
            {
                counts[uid] = count - 1;
            }
            else
            {
                counts.Remove(uid);
            }
        }
    }

    private sealed class Slot(CallerLimits limits, int uid) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                limits.Release(limits._watches, uid);
            }
        }
    }

    private sealed class NoSlot : IDisposable
    {
        public static readonly NoSlot Instance = new();

        public void Dispose()
        {
        }
    }
}

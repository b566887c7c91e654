using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using LivePatchAgent.Client;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Bench.Load;

/// <summary>One event as a subscriber received it.</summary>
internal readonly record struct ReceivedEvent(ulong Sequence, EventKind Kind, string Patch, ulong Dropped, long ReceivedAt);

/// <summary>
/// One WatchEvents stream on its own connection (as one <c>lpctl watch</c> would have), recording every event
/// with the moment it arrived.
/// </summary>
internal sealed class EventSubscriber : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncServerStreamingCall<Event> _call;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<ReceivedEvent> _events = [];
    private Task? _reading;

    private EventSubscriber(GrpcChannel channel, AsyncServerStreamingCall<Event> call)
    {
        _channel = channel;
        _call = call;
    }

    /// <summary>Why the stream failed, when it ended other than by <see cref="StopAsync"/>.</summary>
    public string? Failure { get; private set; }

    /// <summary>Called on the reading task for every event, right after it is recorded.</summary>
    public Action<ReceivedEvent>? OnEvent { get; init; }

    public IReadOnlyList<ReceivedEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Opens the stream and returns once the daemon says the subscription is live (its response headers).</summary>
    public static async Task<EventSubscriber> OpenAsync(string socketPath, Action<ReceivedEvent>? onEvent, CancellationToken cancellationToken)
    {
        var channel = AgentChannel.Create(socketPath);
        var call = new Agent.AgentClient(channel).WatchEvents(new WatchEventsRequest(), cancellationToken: CancellationToken.None);
        var subscriber = new EventSubscriber(channel, call) { OnEvent = onEvent };
        try
        {
            await call.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await subscriber.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        subscriber._reading = Task.Run(subscriber.ReadAsync, CancellationToken.None);
        return subscriber;
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_reading is not null)
        {
            await _reading.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _call.Dispose();
        _channel.Dispose();
        _stop.Dispose();
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(_stop.Token).ConfigureAwait(false))
            {
                var e = _call.ResponseStream.Current;
                var received = new ReceivedEvent(e.Sequence, e.Kind, e.Patch, e.Dropped, Stopwatch.GetTimestamp());
                lock (_events)
                {
                    _events.Add(received);
                }

                OnEvent?.Invoke(received);
            }

            if (!_stop.IsCancellationRequested)
            {
                Failure = "the daemon ended the stream";
            }
        }
        catch (RpcException e) when (_stop.IsCancellationRequested && e.StatusCode == StatusCode.Cancelled)
        {
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (RpcException e)
        {
            Failure = $"{e.StatusCode}: {e.Status.Detail}";
        }
    }
}

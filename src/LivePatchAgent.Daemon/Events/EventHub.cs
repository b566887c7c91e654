using System.Runtime.CompilerServices;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Daemon.Configuration;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Events;

/// <summary>
/// Fans events out to WatchEvents subscribers. Publishing never blocks and never allocates per subscriber
/// beyond its bounded queue: a subscriber that does not keep up loses events and is told how many.
/// </summary>
internal sealed class EventHub(IOptions<ApiOptions> options)
{
    private readonly Lock _lock = new();
    private readonly int _capacity = options.Value.WatchBufferSize;
    private EventSubscription[] _subscribers = [];
    private long _sequence;
    private long _nextSubscriberId;

    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    /// <summary>Assigns sequence numbers and offers each event to every subscriber.</summary>
    public IReadOnlyList<AgentEvent> Publish(IEnumerable<AgentEvent> events)
    {
        var published = new List<AgentEvent>();
        foreach (var e in events)
        {
            var numbered = e with { Sequence = Interlocked.Increment(ref _sequence) };
            published.Add(numbered);
            foreach (var subscriber in Volatile.Read(ref _subscribers))
            {
                subscriber.Offer(numbered);
            }
        }

        return published;
    }

    public EventSubscription Subscribe()
    {
        var subscription = new EventSubscription(Interlocked.Increment(ref _nextSubscriberId), _capacity, Unsubscribe);
        lock (_lock)
        {
            _subscribers = [.. _subscribers, subscription];
        }

        return subscription;
    }

    private void Unsubscribe(EventSubscription subscription)
    {
        lock (_lock)
        {
            _subscribers = [.. _subscribers.Where(s => s != subscription)];
        }
    }
}

/// <summary>
/// One subscriber's queue: at most <c>capacity</c> events plus one "lagged" marker. When the queue is full, the
/// marker is appended (or its count raised), so the subscriber learns exactly where the gap is.
/// </summary>
internal sealed class EventSubscription : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Queue<Entry> _queue = new();
    private readonly int _capacity;
    private readonly Action<EventSubscription> _onDispose;
    private Entry? _tailMarker;
    private TaskCompletionSource? _waiter;
    private bool _disposed;

    public EventSubscription(long id, int capacity, Action<EventSubscription> onDispose)
    {
        Id = id;
        _capacity = capacity;
        _onDispose = onDispose;
    }

    public long Id { get; }

    /// <summary>Events dropped for this subscriber so far.</summary>
    public long Dropped { get; private set; }

    public void Offer(AgentEvent e)
    {
        TaskCompletionSource? wake;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            if (_queue.Count < _capacity)
            {
                _queue.Enqueue(new Entry(e, 0));
                _tailMarker = null;
            }
            else
            {
                if (_tailMarker is null)
                {
                    _tailMarker = new Entry(e, 0);
                    _queue.Enqueue(_tailMarker);
                }

                _tailMarker.Dropped++;
                _tailMarker.LastTime = e.Time;
                Dropped++;
            }

            wake = _waiter;
            _waiter = null;
        }

        wake?.TrySetResult();
    }

    /// <summary>Reads events until the subscription is disposed or the token fires.</summary>
    public async IAsyncEnumerable<AgentEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            Entry? next = null;
            Task? wait = null;
            lock (_lock)
            {
                if (_disposed)
                {
                    yield break;
                }

                if (_queue.TryDequeue(out next))
                {
                    if (ReferenceEquals(next, _tailMarker))
                    {
                        _tailMarker = null;
                    }
                }
                else
                {
                    _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _waiter.Task;
                }
            }

            if (next is not null)
            {
                yield return next.ToEvent();
            }
            else
            {
                await wait!.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public void Dispose()
    {
        TaskCompletionSource? wake;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            wake = _waiter;
        }

        wake?.TrySetResult();
        _onDispose(this);
    }

    private sealed class Entry(AgentEvent first, long dropped)
    {
        public long Dropped { get; set; } = dropped;

        public DateTimeOffset LastTime { get; set; } = first.Time;

        public AgentEvent ToEvent() => Dropped == 0
            ? first
            : new AgentEvent
            {
                Time = LastTime,
                Kind = AgentEventKind.Lagged,
                Dropped = Dropped,
                Message = $"this subscriber missed {Dropped} event(s) because it did not read fast enough",
            };
    }
}

using LivePatchAgent.Core.Events;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Events;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Unit.Tests.Daemon.Events;

public sealed class EventHubTests
{
    private static EventHub Hub(int capacity = 16) => new(Options.Create(new ApiOptions { WatchBufferSize = capacity }));

    private static AgentEvent Event(int n) => new()
    {
        Time = DateTimeOffset.UnixEpoch.AddSeconds(n),
        Kind = AgentEventKind.PatchAppeared,
        Patch = $"p{n}",
        Message = $"event {n}",
    };

    private static async Task<List<AgentEvent>> ReadAsync(EventSubscription subscription, int count)
    {
        var events = new List<AgentEvent>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var e in subscription.ReadAllAsync(cts.Token))
        {
            events.Add(e);
            if (events.Count == count)
            {
                break;
            }
        }

        return events;
    }

    [Fact]
    public async Task Subscribers_get_every_event_with_increasing_sequence_numbers()
    {
        var hub = Hub();
        using var a = hub.Subscribe();
        using var b = hub.Subscribe();

        hub.Publish([Event(1), Event(2), Event(3)]);

        var fromA = await ReadAsync(a, 3);
        var fromB = await ReadAsync(b, 3);
        Assert.Equal([1L, 2L, 3L], fromA.Select(e => e.Sequence));
        Assert.Equal(fromA, fromB);
    }

    [Fact]
    public async Task A_slow_subscriber_gets_a_lagged_marker_exactly_where_the_gap_is()
    {
        var hub = Hub(capacity: 16);
        using var slow = hub.Subscribe();

        hub.Publish(Enumerable.Range(1, 20).Select(Event)); // 4 more than it can hold
        var first = await ReadAsync(slow, 16);
        hub.Publish([Event(21)]);                         // there is room again
        var rest = await ReadAsync(slow, 2);

        Assert.Equal(Enumerable.Range(1, 16).Select(n => (long)n), first.Select(e => e.Sequence));
        Assert.Equal(AgentEventKind.Lagged, rest[0].Kind);
        Assert.Equal(4, rest[0].Dropped);
        Assert.Equal(21, rest[1].Sequence);
        Assert.Equal(4, slow.Dropped);
    }

    [Fact]
    public async Task Events_published_while_the_queue_is_still_full_join_the_same_gap()
    {
        var hub = Hub(capacity: 16);
        using var slow = hub.Subscribe();

        hub.Publish(Enumerable.Range(1, 20).Select(Event));
        hub.Publish([Event(21)]); // still full: one gap of 5, not two gaps

        var events = await ReadAsync(slow, 17);
        Assert.Equal(AgentEventKind.Lagged, events[16].Kind);
        Assert.Equal(5, events[16].Dropped);
    }

    [Fact]
    public void A_subscriber_that_never_reads_holds_at_most_capacity_plus_one_entries()
    {
        var hub = Hub(capacity: 16);
        using var stuck = hub.Subscribe();

        for (var i = 0; i < 10_000; i++)
        {
            hub.Publish([Event(i)]);
        }

        Assert.Equal(10_000 - 16, stuck.Dropped);
    }

    [Fact]
    public async Task Disposing_a_subscription_ends_its_reader_and_unsubscribes()
    {
        var hub = Hub();
        var subscription = hub.Subscribe();
        var reader = ReadAsync(subscription, 1);
        Assert.Equal(1, hub.SubscriberCount);

        subscription.Dispose();

        Assert.Empty(await reader);
        Assert.Equal(0, hub.SubscriberCount);
    }

    [Fact]
    public async Task A_waiting_reader_wakes_on_publish()
    {
        var hub = Hub();
        using var subscription = hub.Subscribe();
        var reader = ReadAsync(subscription, 1);
        await Task.Delay(50);

        hub.Publish([Event(7)]);

        Assert.Equal("p7", (await reader).Single().Patch);
    }
}

using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Bench.Load;

/// <summary>
/// Checks that every subscriber saw the complete event sequence. The daemon numbers its events one by one
/// (<c>Event.sequence</c>) and tells a subscriber that fell behind with one EVENT_KIND_LAGGED marker (sequence 0)
/// at the place of the gap. So for a subscriber that never got a marker, every number from the first to the last
/// event anyone saw must be there, once, in order, with the same kind and patch as every other subscriber saw.
/// All subscriptions are live before the first change, so each subscriber is owed the whole range.
/// </summary>
internal sealed record EventAudit(
    long Published,
    ulong FirstSequence,
    ulong LastSequence,
    int Subscribers,
    int LaggedSubscribers,
    long DroppedForLagged,
    long LostByNonLagged,
    long OutOfOrder,
    long Mismatched,
    long MinReceived,
    long MaxReceived)
{
    public static EventAudit Of(IReadOnlyList<IReadOnlyList<ReceivedEvent>> subscribers)
    {
        var union = new Dictionary<ulong, (EventKind Kind, string Patch)>();
        long mismatched = 0;
        foreach (var events in subscribers)
        {
            foreach (var e in events.Where(e => e.Kind != EventKind.Lagged))
            {
                if (!union.TryAdd(e.Sequence, (e.Kind, e.Patch)) && union[e.Sequence] != (e.Kind, e.Patch))
                {
                    mismatched++;
                }
            }
        }

        var first = union.Count == 0 ? 0 : union.Keys.Min();
        var last = union.Count == 0 ? 0 : union.Keys.Max();
        var published = union.Count == 0 ? 0 : (long)(last - first + 1);
        int lagged = 0;
        long dropped = 0, lost = 0, outOfOrder = 0;
        foreach (var events in subscribers)
        {
            var markers = events.Where(e => e.Kind == EventKind.Lagged).ToList();
            if (markers.Count > 0)
            {
                lagged++;
                dropped += markers.Sum(m => (long)m.Dropped);
                continue;
            }

            var seen = new HashSet<ulong>();
            ulong previous = 0;
            foreach (var e in events)
            {
                if (e.Sequence <= previous)
                {
                    outOfOrder++;
                }

                previous = e.Sequence;
                seen.Add(e.Sequence);
            }

            lost += published - seen.Count(s => s >= first && s <= last);
        }

        var counts = subscribers.Select(s => (long)s.Count).DefaultIfEmpty(0).ToList();
        return new EventAudit(published, first, last, subscribers.Count, lagged, dropped, lost, outOfOrder, mismatched,
            counts.Min(), counts.Max());
    }
}

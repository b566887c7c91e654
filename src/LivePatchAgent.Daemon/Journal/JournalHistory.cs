namespace LivePatchAgent.Daemon.Journal;

/// <summary>One operation: its started entry joined with its finished entry (either may be missing).</summary>
internal sealed record JournalOperation(long Id, JournalEntry? Started, JournalEntry? Finished)
{
    public string Operation => Started?.Operation ?? Finished!.Operation;

    public string? Patch => Started?.Patch ?? Finished?.Patch;

    /// <summary>When it started, or for an operation whose start was rotated away, when it finished.</summary>
    public DateTimeOffset Time => Started?.Time ?? Finished!.Time;
}

/// <summary>Joins journal entries into operations, oldest first, and filters them for lpctl history.</summary>
internal static class JournalHistory
{
    public const int DefaultLimit = 100;

    public const int MaxLimit = 10_000;

    public static IReadOnlyList<JournalOperation> Operations(IEnumerable<JournalEntry> entries)
    {
        var byId = new Dictionary<long, (JournalEntry? Started, JournalEntry? Finished)>();
        var order = new List<long>();
        foreach (var entry in entries)
        {
            if (!byId.TryGetValue(entry.Op, out var pair))
            {
                order.Add(entry.Op);
            }

            byId[entry.Op] = entry.Kind == JournalEntryKind.Started ? pair with { Started = entry } : pair with { Finished = entry };
        }

        return [.. order.Select(id => new JournalOperation(id, byId[id].Started, byId[id].Finished))];
    }

    /// <summary>The newest <paramref name="limit"/> operations matching the filters, oldest first, and how many matched.</summary>
    public static (IReadOnlyList<JournalOperation> Operations, int Total) Select(
        IReadOnlyList<JournalOperation> operations, DateTimeOffset? since, string? patch, int limit)
    {
        var matching = operations
            .Where(o => since is null || o.Time >= since)
            .Where(o => patch is null || o.Patch == patch)
            .ToList();
        return (matching.Skip(Math.Max(0, matching.Count - limit)).ToList(), matching.Count);
    }
}

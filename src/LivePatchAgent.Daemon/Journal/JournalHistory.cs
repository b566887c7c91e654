using LivePatchAgent.Core.Operations;

namespace LivePatchAgent.Daemon.Journal;

/// <summary>One operation: its started, checked and finished entries joined (any may be missing).</summary>
internal sealed record JournalOperation(long Id, JournalEntry? Started, JournalEntry? Finished)
{
    /// <summary>The checked entry of a load or install: the module's name and SHA-256 once verification passed.</summary>
    public JournalEntry? Checked { get; init; }

    public string Operation => Started?.Operation ?? Checked?.Operation ?? Finished!.Operation;

    public string? Patch => Started?.Patch ?? Checked?.Patch ?? Finished?.Patch;

    public string? Sha256 => Started?.Sha256 ?? Checked?.Sha256 ?? Finished?.Sha256;

    /// <summary>When it started, or for an operation whose start was rotated away, when it finished.</summary>
    public DateTimeOffset Time => Started?.Time ?? Checked?.Time ?? Finished!.Time;
}

/// <summary>Joins journal entries into operations, oldest first, and filters them for lpctl history.</summary>
internal static class JournalHistory
{
    public const int DefaultLimit = 100;

    public const int MaxLimit = 10_000;

    /// <summary>
    /// The outcome of a finished entry in today's words ("" while it runs): lines written before operations had
    /// results say "ok" and "timeout".
    /// </summary>
    public static string OutcomeOf(JournalEntry? finished) =>
        OperationResult.ParseWord(finished?.Outcome) is { } kind ? OperationResult.Word(kind) : finished?.Outcome ?? string.Empty;

    public static IReadOnlyList<JournalOperation> Operations(IEnumerable<JournalEntry> entries)
    {
        var byId = new Dictionary<long, (JournalEntry? Started, JournalEntry? Checked, JournalEntry? Finished)>();
        var order = new List<long>();
        foreach (var entry in entries)
        {
            if (!byId.TryGetValue(entry.Op, out var parts))
            {
                order.Add(entry.Op);
            }

            byId[entry.Op] = entry.Kind switch
            {
                JournalEntryKind.Started => parts with { Started = entry },
                JournalEntryKind.Checked => parts with { Checked = entry },
                _ => parts with { Finished = entry },
            };
        }

        return [.. order.Select(id => new JournalOperation(id, byId[id].Started, byId[id].Finished) { Checked = byId[id].Checked })];
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

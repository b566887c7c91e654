namespace LivePatchAgent.Daemon.Journal;

/// <summary>A line of the journal that is not a complete entry: reported, skipped, never fatal.</summary>
internal sealed record JournalProblem(string File, int Line, long Offset, string Description)
{
    public override string ToString() => $"{File}:{Line} (byte {Offset}): {Description}";
}

/// <summary>What the journal files hold, oldest entry first, and the lines that were skipped.</summary>
internal sealed record JournalContents(IReadOnlyList<JournalEntry> Entries, IReadOnlyList<JournalProblem> Problems)
{
    /// <summary>Started entries that no finished entry closes.</summary>
    public IReadOnlyList<JournalEntry> Unfinished()
    {
        var finished = Entries.Where(e => e.Kind == JournalEntryKind.Finished).Select(e => e.Op).ToHashSet();
        // A load learns its patch's name only from the module: the checked entry, when there is one, says it.
        var checkedById = Entries.Where(e => e.Kind == JournalEntryKind.Checked).GroupBy(e => e.Op).ToDictionary(g => g.Key, g => g.Last());
        return
        [
            .. Entries
                .Where(e => e.Kind == JournalEntryKind.Started && !finished.Contains(e.Op))
                .Select(e => checkedById.TryGetValue(e.Op, out var c) ? e with { Patch = e.Patch ?? c.Patch, Sha256 = e.Sha256 ?? c.Sha256 } : e),
        ];
    }
}

/// <summary>
/// The journal directory: <c>journal.jsonl</c> is appended to; when it reaches the size limit it becomes
/// <c>journal.1.jsonl</c>, the older ones move up by one, and the oldest beyond the count kept is deleted.
/// </summary>
internal static class JournalFiles
{
    public const string Current = "journal.jsonl";

    public static string Rotated(int n) => $"journal.{n}.jsonl";

    /// <summary>The files that exist, oldest first.</summary>
    public static IReadOnlyList<string> Existing(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var rotated = Directory.EnumerateFiles(directory, "journal.*.jsonl")
            .Select(path => (Path: path, N: RotationNumber(Path.GetFileName(path))))
            .Where(f => f.N > 0)
            .OrderByDescending(f => f.N)
            .Select(f => f.Path)
            .ToList();
        var current = Path.Combine(directory, Current);
        if (File.Exists(current))
        {
            rotated.Add(current);
        }

        return rotated;
    }

    /// <summary>Reads every file. A torn last line (a crash mid-write) or a garbled line is reported and skipped.</summary>
    public static JournalContents Read(string directory)
    {
        var entries = new List<JournalEntry>();
        var problems = new List<JournalProblem>();
        foreach (var path in Existing(directory))
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add(new JournalProblem(path, 0, 0, $"cannot read: {e.Message}"));
                continue;
            }

            ReadFile(path, bytes, entries, problems);
        }

        return new JournalContents(entries, problems);
    }

    internal static void ReadFile(string path, ReadOnlySpan<byte> bytes, List<JournalEntry> entries, List<JournalProblem> problems)
    {
        var line = 0;
        long offset = 0;
        while (offset < bytes.Length)
        {
            line++;
            var rest = bytes[(int)offset..];
            var end = rest.IndexOf((byte)'\n');
            var text = end < 0 ? rest : rest[..end];
            if (end < 0)
            {
                problems.Add(new JournalProblem(path, line, offset, $"torn last line ({text.Length} bytes without a newline): a write was cut short, most likely by a crash; skipped"));
                break;
            }

            if (text.Trim(" \t\r"u8).Length > 0)
            {
                if (JournalEntry.TryParse(text, out var problem) is { } entry)
                {
                    entries.Add(entry);
                }
                else
                {
                    problems.Add(new JournalProblem(path, line, offset, $"unreadable line ({problem}); skipped"));
                }
            }

            offset += end + 1;
        }
    }

    /// <summary>True when the file is non-empty and its last byte is not a newline (a torn write).</summary>
    public static bool EndsTorn(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            if (stream.Length == 0)
            {
                return false;
            }

            stream.Seek(-1, SeekOrigin.End);
            return stream.ReadByte() != '\n';
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    /// <summary>n of journal.n.jsonl; 0 for any other name.</summary>
    internal static int RotationNumber(string fileName)
    {
        if (fileName.Length <= "journal..jsonl".Length || !fileName.StartsWith("journal.", StringComparison.Ordinal) || !fileName.EndsWith(".jsonl", StringComparison.Ordinal))
        {
            return 0;
        }

        var middle = fileName["journal.".Length..^".jsonl".Length];
        return int.TryParse(middle, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;
    }
}

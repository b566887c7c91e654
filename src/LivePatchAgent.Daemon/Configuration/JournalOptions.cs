using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>The audit journal under &lt;StateDir&gt;/journal: append-only JSON lines, fsync'd, rotated by size.</summary>
public sealed class JournalOptions
{
    public const string SectionName = "Journal";

    /// <summary>journal.jsonl is rotated when the next entry would take it past this size, in bytes (default 4 MiB).</summary>
    [IntegerRange(4096, 1L << 30)]
    public long MaxFileSize { get; set; } = 4L * 1024 * 1024;

    /// <summary>How many files are kept, the current one included (default 8); the oldest beyond that are deleted.</summary>
    [IntegerRange(1, 1000)]
    public int KeepFiles { get; set; } = 8;
}

[OptionsValidator]
public sealed partial class JournalOptionsValidator : IValidateOptions<JournalOptions>;

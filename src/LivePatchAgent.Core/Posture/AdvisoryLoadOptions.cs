namespace LivePatchAgent.Core.Posture;

/// <summary>
/// Limits for reading advisory files. The directory is filled by configuration management from feeds this host
/// does not control, so every dimension of a file is bounded: a file over a limit is skipped with a problem,
/// the others still load.
/// </summary>
public sealed record AdvisoryLoadOptions
{
    public static AdvisoryLoadOptions Default { get; } = new();

    /// <summary>
    /// The largest file read. 8 MiB holds the largest single records published (an Ubuntu kernel CVE record that
    /// lists every kernel flavour of every release is about 0.4 MB) with room to spare.
    /// </summary>
    public long MaxFileBytes { get; init; } = 8L * 1024 * 1024;

    /// <summary>The most advisories one file (a JSON array of records) may hold.</summary>
    public int MaxAdvisoriesPerFile { get; init; } = 10_000;

    /// <summary>The most files read from the directory; files past it, in name order, are not read.</summary>
    public int MaxFiles { get; init; } = 100_000;

    /// <summary>The longest string value, in bytes as written in the file; kernel CVE details run to a few KB.</summary>
    public int MaxStringBytes { get; init; } = 64 * 1024;

    /// <summary>The deepest nesting of arrays and objects. OSV records nest six levels; the rest is hostile.</summary>
    public int MaxDepth { get; init; } = 32;

    /// <summary>
    /// Which affected entries to keep; null keeps all. The daemon keeps only its kernel package's entries, so a
    /// directory holding a whole distribution feed costs memory for the kernel records only. An advisory left with no
    /// entry is dropped, unless it is withdrawn (its withdrawal must still remove an older copy).
    /// </summary>
    public Func<OsvPackage, bool>? KeepPackage { get; init; }
}

/// <summary>Why a file (or the directory) was not read, in words that name the place in the file.</summary>
/// <param name="File">The file's path, or the directory's for a problem with the directory itself.</param>
/// <param name="Message">What is wrong, with the place in the file (line and byte, or the JSON path) where known.</param>
public sealed record AdvisoryProblem(string File, string Message)
{
    /// <summary>The line to log and show: the file, then what is wrong with it.</summary>
    public string Text => $"{File}: {Message}";

    public override string ToString() => Text;
}

/// <summary>A file that was read: its path, its size and how many advisories it gave (after <see cref="AdvisoryLoadOptions.KeepPackage"/>).</summary>
public sealed record AdvisoryFile(string Path, long Length, int Advisories);

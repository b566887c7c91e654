using System.Collections.Immutable;
using System.Globalization;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// Reads the advisory directory that configuration management fills. Which files are read: the regular files
/// directly in the directory (no subdirectories) whose name ends in <c>.json</c> (exactly, lower case) and does not
/// start with <c>.</c> or <c>#</c>, in ordinal name order. Dotfiles are the temporary files of rsync and of
/// atomic writers (<c>.name.json.XXXXXX</c>), <c>#name#</c> those of editors; <c>name.json.tmp</c>,
/// <c>name.json~</c> and <c>name.json.dpkg-new</c> already fail the suffix rule. A bad file is a problem and is
/// skipped; nothing in a file's content makes this throw.
/// </summary>
public static class AdvisoryDirectory
{
    public static AdvisorySet Load(string directory, AdvisoryLoadOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= AdvisoryLoadOptions.Default;
        var problems = new List<AdvisoryProblem>();
        FileInfo[] candidates;
        try
        {
            candidates = [.. new DirectoryInfo(directory)
                .EnumerateFiles("*.json", new EnumerationOptions
                {
                    RecurseSubdirectories = false,
                    MatchType = MatchType.Simple,
                    MatchCasing = MatchCasing.CaseSensitive,
                    IgnoreInaccessible = false,
                    AttributesToSkip = 0,
                })
                .Where(f => IsAdvisoryFileName(f.Name))
                .OrderBy(f => f.Name, StringComparer.Ordinal)];
        }
        catch (DirectoryNotFoundException)
        {
            return AdvisorySet.Create([], [new AdvisoryProblem(directory, "the advisory directory does not exist")]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            return AdvisorySet.Create([], [new AdvisoryProblem(directory, $"the advisory directory cannot be listed: {e.Message}")]);
        }

        if (candidates.Length > options.MaxFiles)
        {
            problems.Add(new AdvisoryProblem(directory, string.Create(CultureInfo.InvariantCulture,
                $"holds {candidates.Length:N0} advisory files, over the limit of {options.MaxFiles:N0}; the files after {candidates[options.MaxFiles - 1].Name} in name order were not read")));
            candidates = candidates[..options.MaxFiles];
        }

        var advisories = new List<OsvAdvisory>();
        var files = ImmutableArray.CreateBuilder<AdvisoryFile>();
        foreach (var candidate in candidates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = candidate.FullName;
            var read = ReadFile(candidate, options);
            if (read.Problem is not null)
            {
                problems.Add(new AdvisoryProblem(path, read.Problem));
                continue;
            }

            var parsed = OsvParser.Parse(read.Bytes, path, options);
            if (parsed.Problem is not null)
            {
                problems.Add(parsed.Problem);
                continue;
            }

            advisories.AddRange(parsed.Advisories);
            files.Add(new AdvisoryFile(path, read.Bytes.Length, parsed.Advisories.Length));
        }

        return AdvisorySet.Create(advisories, problems, files.ToImmutable());
    }

    /// <summary>The name rule of the class comment.</summary>
    public static bool IsAdvisoryFileName(string name) =>
        name.EndsWith(".json", StringComparison.Ordinal) && name.Length > ".json".Length && name[0] is not ('.' or '#');

    /// <summary>
    /// The file's bytes, read into a buffer that ends one byte past the limit, so a file that grows after its size
    /// was looked at is still refused without reading it whole. A size of zero is refused before opening:
    /// an empty file is no advisory, and a FIFO or device (which report size zero) would block the open or never end.
    /// </summary>
    private static (ReadOnlyMemory<byte> Bytes, string? Problem) ReadFile(FileInfo file, AdvisoryLoadOptions options)
    {
        try
        {
            var length = file.Length;
            if (length == 0)
            {
                return (default, "is empty (or not a regular file)");
            }

            if (length > options.MaxFileBytes)
            {
                return (default, OverLimit(length, options));
            }

            // A handle and positional reads: the thinnest way to a file's bytes, which counts with 10,000 files.
            using var handle = File.OpenHandle(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[Math.Min(length, options.MaxFileBytes) + 1];
            var total = 0;
            while (true)
            {
                if (total == buffer.Length)
                {
                    if (total > options.MaxFileBytes)
                    {
                        return (default, OverLimit(total, options, grew: true));
                    }

                    Array.Resize(ref buffer, (int)Math.Min(options.MaxFileBytes + 1, (long)buffer.Length * 2));
                }

                var n = RandomAccess.Read(handle, buffer.AsSpan(total), total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            return total == 0 ? (default, "is empty (or not a regular file)") : (buffer.AsMemory(0, total), null);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (default, "vanished before it could be read");
        }
        catch (UnauthorizedAccessException e)
        {
            return (default, $"cannot be read: {e.Message}");
        }
        catch (Exception e) when (e is IOException or NotSupportedException)
        {
            return (default, $"cannot be read: {e.Message}");
        }
    }

    private static string OverLimit(long length, AdvisoryLoadOptions options, bool grew = false) =>
        grew
            ? string.Create(CultureInfo.InvariantCulture, $"grew past the limit of {options.MaxFileBytes:N0} bytes while it was read")
            : string.Create(CultureInfo.InvariantCulture, $"is {length:N0} bytes, over the limit of {options.MaxFileBytes:N0}");
}

using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using LivePatchAgent.Core.Health;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Health;

/// <summary>
/// The patches the health guard took out, kept in &lt;Paths:StateDir&gt;/quarantine.json (written durably) so they stay
/// out across restarts and reboots: start-up apply and lpctl apply skip them until an administrator releases them.
/// A damaged file is kept aside as quarantine.json.damaged and read as empty, with the problem in the log.
/// </summary>
internal sealed class QuarantineStore
{
    private readonly string _path;
    private readonly Lock _lock = new();
    private ImmutableArray<QuarantineEntry> _entries;

    public QuarantineStore(IOptions<PathsOptions> paths)
    {
        _path = Path.Combine(paths.Value.StateDir, "quarantine.json");
        _entries = Read(out var problem);
        LoadProblem = problem;
    }

    /// <summary>Raised after every change.</summary>
    public event Action? Changed;

    public string FilePath => _path;

    /// <summary>Why the file could not be read at start, if it could not.</summary>
    public string? LoadProblem { get; }

    public ImmutableArray<QuarantineEntry> Entries => _entries;

    /// <summary>The entry that holds back <paramref name="name"/> (with <paramref name="sha256"/>, when known), or null.</summary>
    public QuarantineEntry? Holding(string name, string? sha256) => _entries.FirstOrDefault(e => e.Holds(name, sha256));

    public QuarantineEntry? Find(string name) => _entries.FirstOrDefault(e => e.Name == name);

    /// <summary>Adds (or replaces) the entry of its patch; written before it returns.</summary>
    public void Add(QuarantineEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_lock)
        {
            var next = _entries.Where(e => e.Name != entry.Name).Append(entry).ToImmutableArray();
            Write(next);
            _entries = next;
        }

        Changed?.Invoke();
    }

    /// <summary>Removes the entry of <paramref name="name"/>; returns it, or null when there was none.</summary>
    public QuarantineEntry? Remove(string name)
    {
        QuarantineEntry? removed;
        lock (_lock)
        {
            removed = _entries.FirstOrDefault(e => e.Name == name);
            if (removed is null)
            {
                return null;
            }

            var next = _entries.Remove(removed);
            Write(next);
            _entries = next;
        }

        Changed?.Invoke();
        return removed;
    }

    private ImmutableArray<QuarantineEntry> Read(out string? problem)
    {
        problem = null;
        try
        {
            using var stream = File.OpenRead(_path);
            return [.. (JsonSerializer.Deserialize(stream, QuarantineJsonContext.Default.QuarantineEntryArray) ?? []).Where(e => e is not null && !string.IsNullOrEmpty(e.Name))];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            problem = $"{_path} cannot be read ({e.Message}); it is kept as {_path}.damaged and no patch is quarantined";
            try
            {
                File.Copy(_path, _path + ".damaged", overwrite: true);
            }
            catch (Exception copy) when (copy is IOException or UnauthorizedAccessException)
            {
                problem += $" (the copy failed too: {copy.Message})";
            }

            return [];
        }
    }

    private void Write(ImmutableArray<QuarantineEntry> entries) =>
        DurableFile.Write(_path, JsonSerializer.SerializeToUtf8Bytes(entries.ToArray(), QuarantineJsonContext.Default.QuarantineEntryArray));
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(QuarantineEntry[]))]
internal sealed partial class QuarantineJsonContext : JsonSerializerContext;

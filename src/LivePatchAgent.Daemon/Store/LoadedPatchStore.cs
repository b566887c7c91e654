using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// Keeps what livepatchd verified about each patch module it loaded in this boot, so a loaded patch can show its
/// security metadata: the kernel keeps no .modinfo that could be read back. The records live in
/// <c>&lt;state dir&gt;/loaded-patches.json</c> so a restart of the daemon keeps them; records of another boot, and of
/// modules that are no longer loaded, are dropped (<see cref="LoadedPatchRecord.Describes"/>).
/// </summary>
internal sealed class LoadedPatchStore : IHostedService
{
    private readonly string _path;
    private readonly StateStore _store;
    private readonly ILogger<LoadedPatchStore> _logger;
    private readonly Lock _lock = new();
    private bool _loaded;
    private ImmutableHashSet<string> _written = ImmutableHashSet<string>.Empty;

    public LoadedPatchStore(IOptions<PathsOptions> paths, StateStore store, ILogger<LoadedPatchStore> logger)
    {
        _path = Path.Combine(paths.Value.StateDir, "loaded-patches.json");
        _store = store;
        _logger = logger;
        store.Changed += Forget;
    }

    /// <summary>
    /// Reads the file once, keeping the records of the running boot whose modules are still loaded, and publishes
    /// them. Called at start (after the first snapshot) and before the first record is written.
    /// </summary>
    public void Load()
    {
        lock (_lock)
        {
            if (_loaded)
            {
                return;
            }

            var view = _store.Current;
            var bootId = view.Snapshot.Kernel.BootId;
            var all = Read();
            var kept = all.Where(r => bootId is not null && r.BootId == bootId && r.Describes(view.Snapshot)).ToImmutableArray();
            if (kept.Length != all.Length)
            {
                TryWrite(kept, null);
            }
            else
            {
                _written = [.. kept.Select(r => r.Name)];
            }

            _store.SetLoadedPatches(kept);
            _loaded = true;
        }
    }

    /// <summary>Reads this boot's records at start: registered after the kernel watcher, whose first snapshot names the boot.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Load();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Records a module the kernel just accepted, replacing any record of its name.</summary>
    public void Record(LoadedPatchRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Load();
        lock (_lock)
        {
            // The view's records are already pruned of modules that went away.
            var records = _store.Current.LoadedPatches.Values.Where(r => r.Name != record.Name).Append(record).ToImmutableArray();
            TryWrite(records, record.Name);
            _store.SetLoadedPatches(records);
        }
    }

    /// <summary>
    /// Rewrites the file once the view has dropped a record (its module was removed), so a later module of the same
    /// name that livepatchd did not load never inherits it, not even after a restart. It judges by the latest view,
    /// never by the one the event carries: a poll publishes its view and raises the event outside the store's lock,
    /// so a <see cref="Record"/> can land between the two, and that older view, which lacks the new record, would
    /// erase it from the file (the patch would lose its metadata at the next restart).
    /// </summary>
    private void Forget(AgentView changed)
    {
        _ = changed;
        lock (_lock)
        {
            var view = _store.Current;
            if (_loaded && _written.Any(n => !view.LoadedPatches.ContainsKey(n)))
            {
                TryWrite([.. view.LoadedPatches.Values], null);
            }
        }
    }

    private void TryWrite(ImmutableArray<LoadedPatchRecord> records, string? patch)
    {
        try
        {
            DurableFile.Write(_path, JsonSerializer.SerializeToUtf8Bytes([.. records.Select(StoredLoadedPatch.From)], LoadedPatchJsonContext.Default.StoredLoadedPatchArray));
            _written = [.. records.Select(r => r.Name)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The patch is loaded either way; only a restart of the daemon would forget (or keep) its metadata.
            StoreLog.LoadedRecordNotWritten(_logger, patch ?? string.Join(", ", records.Select(r => r.Name)), _path, e.Message);
        }
    }

    private ImmutableArray<LoadedPatchRecord> Read()
    {
        StoredLoadedPatch[]? stored;
        try
        {
            stored = JsonSerializer.Deserialize(File.ReadAllBytes(_path), LoadedPatchJsonContext.Default.StoredLoadedPatchArray);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            // Losing the records only hides the metadata of patches loaded before the restart; it must not stop
            // the daemon. A reload of the patch records it again.
            StoreLog.LoadedRecordsUnreadable(_logger, _path, e.Message);
            return [];
        }

        return [.. (stored ?? []).Where(s => s is { Name.Length: > 0, Sha256.Length: > 0 }).Select(s => s.ToRecord())];
    }
}

/// <summary>One record as the file keeps it.</summary>
internal sealed record StoredLoadedPatch(string Name, string Sha256, string? SrcVersion, string? BootId, DateTimeOffset LoadedAt, StoredMetadata? Declared)
{
    /// <summary>The operator's install metadata, for a patch loaded from the store.</summary>
    public string? Description { get; init; }

    public IReadOnlyList<string> CveIds { get; init; } = [];

    public ulong? CumulativeVersion { get; init; }

    public static StoredLoadedPatch From(LoadedPatchRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new StoredLoadedPatch(record.Name, record.Sha256, record.SrcVersion, record.BootId, record.LoadedAt,
            record.Declared.IsEmpty && record.Declared.Warnings.IsEmpty ? null : StoredMetadata.From(record.Declared, MetadataSource.UnsignedModinfo))
        {
            Description = record.Operator.Summary,
            CveIds = [.. record.Operator.CveIds],
            CumulativeVersion = record.Operator.Level,
        };
    }

    public LoadedPatchRecord ToRecord() =>
        new(Name, Sha256, Declared?.ToMetadata() ?? PatchMetadata.None, PatchMetadata.FromOperator(Description, CveIds, CumulativeVersion), LoadedAt)
        {
            SrcVersion = SrcVersion,
            BootId = BootId,
        };
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoredLoadedPatch[]))]
internal sealed partial class LoadedPatchJsonContext : JsonSerializerContext;

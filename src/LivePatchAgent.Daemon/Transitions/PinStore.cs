using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Transitions;

/// <summary>
/// Remembers modules pinned by a forced transition. The kernel never says which modules it marked forced, only
/// that their removal fails forever (EWOULDBLOCK), so livepatchd records each pin when it forces, with the boot it
/// belongs to. Pins from an earlier boot are dropped: a reboot frees every module.
/// </summary>
internal sealed class PinStore
{
    private readonly string _path;
    private readonly StateStore _store;
    private readonly Lock _lock = new();
    private ImmutableArray<ModulePin> _pins = [];

    public PinStore(IOptions<PathsOptions> paths, StateStore store)
    {
        _path = Path.Combine(paths.Value.StateDir, "pins.json");
        _store = store;
    }

    public ImmutableArray<ModulePin> Pins => _pins;

    public ModulePin? Find(string module) => _pins.FirstOrDefault(p => p.Module == module);

    /// <summary>Reads the file and keeps the pins of <paramref name="bootId"/>; rewrites it if any were dropped.</summary>
    public void Load(string? bootId)
    {
        lock (_lock)
        {
            var all = Read();
            var current = all.Where(p => bootId is not null && p.BootId == bootId).ToImmutableArray();
            _pins = current;
            if (current.Length != all.Length)
            {
                Write(current);
            }

            _store.SetForcedModules(current.Select(p => p.Module));
        }
    }

    public void Add(IEnumerable<ModulePin> pins)
    {
        lock (_lock)
        {
            var merged = _pins.Where(p => !pins.Any(n => n.Module == p.Module)).Concat(pins).ToImmutableArray();
            Write(merged);
            _pins = merged;
            _store.SetForcedModules(merged.Select(p => p.Module));
        }
    }

    private ImmutableArray<ModulePin> Read()
    {
        try
        {
            using var stream = File.OpenRead(_path);
            return [.. JsonSerializer.Deserialize(stream, PinJsonContext.Default.ModulePinArray) ?? []];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }
        catch (JsonException)
        {
            // A damaged file must not stop the daemon; forced modules still fail to unload with the kernel's own
            // error, only less clearly. Keep the damaged file for inspection.
            File.Copy(_path, _path + ".damaged", overwrite: true);
            return [];
        }
    }

    private void Write(ImmutableArray<ModulePin> pins) =>
        DurableFile.Write(_path, JsonSerializer.SerializeToUtf8Bytes(pins.ToArray(), PinJsonContext.Default.ModulePinArray));
}

/// <summary>A module the kernel will never let go of in this boot, and why.</summary>
internal sealed record ModulePin(
    string Module,
    string BootId,
    DateTimeOffset ForcedAt,
    string ForcedPatch,
    string Caller,
    string Reason,
    string BlockingSummary);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ModulePin[]))]
internal sealed partial class PinJsonContext : JsonSerializerContext;

using System.Text.Json;
using LivePatchAgent.Linux.Native;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// The crash-loop guard of start-up apply. Before each start-up load a marker naming the boot and the patch is
/// written to the state dir, and it is cleared once that patch's transition is over. A marker found at start that
/// names an earlier boot means the machine went down while that patch was being applied; applying it again
/// could take the machine down again, so start-up apply waits for an administrator. A marker of the current boot
/// only means livepatchd itself stopped mid-apply (the kernel is still up), so it is cleared.
/// </summary>
internal sealed class CrashLoopGuard(string path, Action<DurableFileStep, string>? beforeStep = null)
{
    public const string FileName = "apply-in-progress.json";

    public string Path { get; } = path;

    /// <summary>What a marker means for the boot that finds it.</summary>
    public static GuardVerdict Judge(ApplyMarker? marker, string? bootId) => marker switch
    {
        null => GuardVerdict.Clear,
        // An unknown boot id cannot prove the machine stayed up: treat it as a different boot.
        _ when bootId is null || marker.BootId != bootId => GuardVerdict.InterruptedEarlierBoot,
        _ => GuardVerdict.StaleThisBoot,
    };

    /// <summary>The marker on disk; null when there is none. A damaged marker still counts as a marker.</summary>
    public ApplyMarker? Read()
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(Path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(bytes, StoreJsonContext.Default.ApplyMarker)
                ?? Damaged("the file holds null");
        }
        catch (JsonException e)
        {
            // Written atomically, so damage is not a torn write; still, the guard must err on the safe side.
            return Damaged(e.Message);
        }
    }

    public void Write(ApplyMarker marker) =>
        DurableFile.Write(Path, JsonSerializer.SerializeToUtf8Bytes(marker, StoreJsonContext.Default.ApplyMarker), beforeStep);

    public void Clear()
    {
        if (File.Exists(Path))
        {
            DurableFile.Delete(Path, beforeStep);
        }
    }

    private static ApplyMarker Damaged(string why) =>
        new("unknown", "unknown", string.Empty, "unknown", DateTimeOffset.UnixEpoch) { Damage = why };
}

/// <summary>What the guard decides at start.</summary>
internal enum GuardVerdict
{
    /// <summary>No marker: apply.</summary>
    Clear,

    /// <summary>A marker of this boot: livepatchd stopped mid-apply, the machine did not; clear it and apply.</summary>
    StaleThisBoot,

    /// <summary>A marker of an earlier boot: skip start-up apply until an administrator resumes.</summary>
    InterruptedEarlierBoot,
}

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// Log messages of installed patches and start-up apply. EventIds 140–159 (Log.cs holds 1–99, DBusLog 100–119,
/// SystemdLog 120–139); like every EventId they are append-only.
/// </summary>
internal static partial class StoreLog
{
    [LoggerMessage(LogEvents.StoreInstalled, LogLevel.Information, "installed {Patch} for {Release} (sha256 {Sha256}) by {Caller}")]
    public static partial void Installed(ILogger logger, string patch, string release, string sha256, string caller);

    [LoggerMessage(LogEvents.StoreUninstalled, LogLevel.Information, "uninstalled {Patch} for {Release} by {Caller}")]
    public static partial void Uninstalled(ILogger logger, string patch, string release, string caller);

    [LoggerMessage(LogEvents.StoreApplyStarted, LogLevel.Information, "apply ({Trigger}) for {Release}: {Count} of {Installed} installed patch(es) to load")]
    public static partial void ApplyStarted(ILogger logger, string trigger, string release, int count, int installed);

    [LoggerMessage(LogEvents.StoreApplyFailed, LogLevel.Error, "installed patch {Patch} not applied ({Reason}): {Message}")]
    public static partial void ApplyFailed(ILogger logger, string patch, string reason, string message);

    [LoggerMessage(LogEvents.StoreApplySkipped, LogLevel.Information, "installed patch {Patch}: {Message}")]
    public static partial void ApplySkipped(ILogger logger, string patch, string message);

    [LoggerMessage(LogEvents.StoreApplyFinished, LogLevel.Information, "apply finished: {Message}")]
    public static partial void ApplyFinished(ILogger logger, string message);

    [LoggerMessage(LogEvents.StoreApplyInterrupted, LogLevel.Error, "start-up apply skipped: {Message}")]
    public static partial void ApplyInterrupted(ILogger logger, string message);

    [LoggerMessage(LogEvents.StoreGuardLifted, LogLevel.Warning, "crash-loop guard lifted: {Why}")]
    public static partial void GuardLifted(ILogger logger, string why);

    [LoggerMessage(LogEvents.StoreStaleMarker, LogLevel.Information, "crash-loop marker for {Patch} is from this boot ({BootId}): livepatchd stopped mid-apply, the machine did not; cleared")]
    public static partial void StaleMarker(ILogger logger, string patch, string bootId);

    [LoggerMessage(LogEvents.StoreMarkerNotCleared, LogLevel.Error, "cannot remove the crash-loop marker {Path}: {Problem}; the next boot will skip start-up apply")]
    public static partial void MarkerNotCleared(ILogger logger, string path, string problem);

    [LoggerMessage(LogEvents.StoreStoreProblem, LogLevel.Warning, "store: {Problem}")]
    public static partial void StoreProblem(ILogger logger, string problem);

    [LoggerMessage(LogEvents.StoreLeftoverKept, LogLevel.Warning, "leftover module {Module}, replaced by {Patch}, is kept: {Why}")]
    public static partial void LeftoverKept(ILogger logger, string module, string patch, string why);

    [LoggerMessage(LogEvents.StoreApplyDisabled, LogLevel.Information, "start-up apply is off: {Reason}")]
    public static partial void ApplyDisabled(ILogger logger, string reason);

    [LoggerMessage(LogEvents.StoreStartupApplyFailed, LogLevel.Error, "start-up apply failed: {Reason}: {Message}")]
    public static partial void StartupApplyFailed(ILogger logger, string reason, string message);

    [LoggerMessage(LogEvents.StoreTemporaryFilesRemoved, LogLevel.Information, "store: removed {Count} temporary file(s) left by an interrupted write")]
    public static partial void TemporaryFilesRemoved(ILogger logger, int count);

    [LoggerMessage(LogEvents.StoreLoadedRecordNotWritten, LogLevel.Warning, "cannot write the loaded-patch records {Path} (for {Patch}): {Problem}; after a restart livepatchd may show its metadata as unknown, or keep an outdated record")]
    public static partial void LoadedRecordNotWritten(ILogger logger, string patch, string path, string problem);

    [LoggerMessage(LogEvents.StoreLoadedRecordsUnreadable, LogLevel.Warning, "cannot read the loaded-patch records {Path}: {Problem}; patches loaded before this start show no metadata until they are loaded again")]
    public static partial void LoadedRecordsUnreadable(ILogger logger, string path, string problem);
}

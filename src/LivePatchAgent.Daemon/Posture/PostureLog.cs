namespace LivePatchAgent.Daemon.Posture;

internal static partial class PostureLog
{
    [LoggerMessage(LogEvents.PostureFeedsRead, LogLevel.Information, "advisories in {Directory}: {Advisories} for the kernel package from {Files} file(s), {Skipped} file(s) skipped")]
    public static partial void FeedsRead(ILogger logger, string directory, int advisories, int files, int skipped);

    [LoggerMessage(LogEvents.PostureFeedSkipped, LogLevel.Warning, "advisory file skipped: {File}: {Problem}")]
    public static partial void FeedSkipped(ILogger logger, string file, string problem);

    [LoggerMessage(LogEvents.PostureChanged, LogLevel.Information, "CVE posture: {Summary}")]
    public static partial void Changed(ILogger logger, string summary);

    [LoggerMessage(LogEvents.PostureWatcherFailed, LogLevel.Warning, "cannot watch {Directory} for changes ({Error}); it is still read every Posture:RescanInterval")]
    public static partial void WatcherFailed(ILogger logger, string directory, string error);
}

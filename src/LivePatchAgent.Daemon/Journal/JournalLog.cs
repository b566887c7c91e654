namespace LivePatchAgent.Daemon.Journal;

/// <summary>The audit journal's log messages: EventIds 160-179 (see Log.cs for the ranges).</summary>
internal static partial class JournalLog
{
    [LoggerMessage(LogEvents.JournalLineSkipped, LogLevel.Warning, "audit journal: {Problem}")]
    public static partial void LineSkipped(ILogger logger, string problem);

    [LoggerMessage(LogEvents.JournalWriteFailed, LogLevel.Error, "cannot write the audit journal {Path}: {Problem}")]
    public static partial void WriteFailed(ILogger logger, string path, string problem);

    [LoggerMessage(LogEvents.JournalInterrupted, LogLevel.Warning, "operation #{Op} {Operation} {Patch} by {Caller} was interrupted: livepatchd stopped before it finished; {Observed}")]
    public static partial void Interrupted(ILogger logger, long op, string operation, string patch, string caller, string observed);

    [LoggerMessage(LogEvents.JournalRotated, LogLevel.Information, "audit journal rotated: {Path} reached {Size} bytes")]
    public static partial void Rotated(ILogger logger, string path, long size);

    [LoggerMessage(LogEvents.JournalOpened, LogLevel.Information, "audit journal {Directory}: {Entries} entries, next operation id {Next}")]
    public static partial void Opened(ILogger logger, string directory, int entries, long next);
}

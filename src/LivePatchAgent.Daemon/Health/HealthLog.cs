namespace LivePatchAgent.Daemon.Health;

/// <summary>Log messages of the kernel health guard. EventIds 220–239; like every EventId they are append-only.</summary>
internal static partial class HealthLog
{
    [LoggerMessage(LogEvents.HealthWatching, LogLevel.Information, "kernel health guard: reading {Path} from its end (Health:OnKernelWarning={OnWarning}, Health:OnKernelBug={OnBug}, Health:Window={Window})")]
    public static partial void Watching(ILogger logger, string path, string onWarning, string onBug, TimeSpan window);

    [LoggerMessage(LogEvents.HealthReaderUnavailable, LogLevel.Warning, "kernel health guard: {Problem}; only the taint mask is watched")]
    public static partial void ReaderUnavailable(ILogger logger, string problem);

    [LoggerMessage(LogEvents.HealthReaderFailed, LogLevel.Error, "kernel health guard: {Problem}; retrying in {Delay}, only the taint mask is watched meanwhile")]
    public static partial void ReaderFailed(ILogger logger, string problem, TimeSpan delay);

    [LoggerMessage(LogEvents.HealthReportAttributed, LogLevel.Warning, "{Summary}")]
    public static partial void Attributed(ILogger logger, string summary);

    [LoggerMessage(LogEvents.HealthReportUnattributed, LogLevel.Information, "{Summary}")]
    public static partial void Unattributed(ILogger logger, string summary);

    [LoggerMessage(LogEvents.HealthReportsSuppressed, LogLevel.Warning, "kernel health guard: {Count} kernel report(s) suppressed by Health:MaxReportsPerMinute={Max}")]
    public static partial void Suppressed(ILogger logger, long count, int max);

    [LoggerMessage(LogEvents.HealthRecordsMissed, LogLevel.Warning, "kernel health guard: {Count} kernel log record(s) were overwritten before they were read ({Total} in total)")]
    public static partial void RecordsMissed(ILogger logger, ulong count, ulong total);

    [LoggerMessage(LogEvents.HealthMalformedRecord, LogLevel.Debug, "kernel health guard: a kernel log line is not a record: {Problem}")]
    public static partial void MalformedRecord(ILogger logger, string problem);

    [LoggerMessage(LogEvents.HealthWindowOpened, LogLevel.Information, "kernel health guard: {Patch}'s transition completed; kernel reports are attributed to it until {ClosesAt:u}")]
    public static partial void WindowOpened(ILogger logger, string patch, DateTimeOffset closesAt);

    [LoggerMessage(LogEvents.HealthQuarantined, LogLevel.Warning, "{Patch} quarantined by {By}: {Reason}")]
    public static partial void Quarantined(ILogger logger, string patch, string by, string reason);

    [LoggerMessage(LogEvents.HealthReleased, LogLevel.Information, "{Patch} released from quarantine by {Caller}")]
    public static partial void Released(ILogger logger, string patch, string caller);

    [LoggerMessage(LogEvents.HealthRevertFailed, LogLevel.Error, "kernel health guard: cannot take {Patch} out: {Problem}")]
    public static partial void RevertFailed(ILogger logger, string patch, string problem);

    [LoggerMessage(LogEvents.HealthQuarantineUnreadable, LogLevel.Error, "kernel health guard: {Problem}")]
    public static partial void QuarantineUnreadable(ILogger logger, string problem);
}

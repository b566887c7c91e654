namespace LivePatchAgent.Daemon.Metrics;

internal static partial class MetricsLog
{
    [LoggerMessage(LogEvents.MetricsWriting, LogLevel.Information, "metrics: writing {Path} on every change and at least every {Interval}")]
    public static partial void Writing(ILogger logger, string path, TimeSpan interval);

    [LoggerMessage(LogEvents.MetricsNoTextfileDir, LogLevel.Information, "metrics: {Directory} does not exist (node_exporter is not installed), no metrics file is written; lpctl metrics prints them")]
    public static partial void NoTextfileDir(ILogger logger, string directory);

    [LoggerMessage(LogEvents.MetricsWriteFailed, LogLevel.Error, "metrics: {Problem}")]
    public static partial void WriteFailed(ILogger logger, string problem);

    [LoggerMessage(LogEvents.MetricsDisabled, LogLevel.Information, "metrics: Metrics:Enabled=false, no metrics file is written; lpctl metrics prints them")]
    public static partial void Disabled(ILogger logger);
}

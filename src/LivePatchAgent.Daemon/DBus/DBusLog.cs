namespace LivePatchAgent.Daemon.DBus;

/// <summary>
/// Log messages of the D-Bus interface. EventIds 100–119 belong to D-Bus (Log.cs holds 1–99, SystemdLog 120–139);
/// like every EventId they are append-only.
/// </summary>
internal static partial class DBusLog
{
    [LoggerMessage(LogEvents.DBusConnected, LogLevel.Information, "D-Bus: serving {BusName} on {Address} as {UniqueName}")]
    public static partial void Connected(ILogger logger, string busName, string address, string uniqueName);

    [LoggerMessage(LogEvents.DBusUnavailable, LogLevel.Warning, "D-Bus: cannot publish on {Address}: {Problem}; gRPC is unaffected, retrying in the background")]
    public static partial void Unavailable(ILogger logger, string address, string problem);

    [LoggerMessage(LogEvents.DBusRetrying, LogLevel.Debug, "D-Bus: attempt {Attempt} to reach {Address} failed ({Problem}); next in {Delay}")]
    public static partial void Retrying(ILogger logger, int attempt, string address, string problem, TimeSpan delay);

    [LoggerMessage(LogEvents.DBusLost, LogLevel.Warning, "D-Bus: lost the connection to {Address}: {Problem}; reconnecting")]
    public static partial void Lost(ILogger logger, string address, string problem);

    [LoggerMessage(LogEvents.DBusMethodFailed, LogLevel.Error, "D-Bus: {Member} failed unexpectedly")]
    public static partial void MethodFailed(ILogger logger, string member, Exception exception);
}

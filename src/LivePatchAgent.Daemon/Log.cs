namespace LivePatchAgent.Daemon;

/// <summary>
/// Every log message of the daemon. EventIds are append-only: monitoring may match on them, so an id is never
/// reused or renumbered. Ranges: 1-99 here; 100-119 D-Bus (DBus/DBusLog.cs); 120-139 systemd
/// (Hosting/SystemdLog.cs).
/// </summary>
internal static partial class Log
{
    [LoggerMessage(LogEvents.Started, LogLevel.Information, "livepatchd {Version} serving gRPC on {SocketPath} (host root {HostRoot}, kernel {Release}, livepatch {Support})")]
    public static partial void Started(ILogger logger, string version, string socketPath, string hostRoot, string release, string support);

    [LoggerMessage(LogEvents.KernelEvent, LogLevel.Information, "{Message}")]
    public static partial void KernelEvent(ILogger logger, string message);

    [LoggerMessage(LogEvents.ReadProblem, LogLevel.Warning, "cannot read the kernel state: {Path}: {Problem}")]
    public static partial void ReadProblem(ILogger logger, string path, string problem);

    [LoggerMessage(LogEvents.PollFailed, LogLevel.Error, "kernel state poll failed; keeping the previous snapshot")]
    public static partial void PollFailed(ILogger logger, Exception exception);

    [LoggerMessage(LogEvents.StaleSocketRemoved, LogLevel.Information, "removed stale socket {SocketPath} (nothing was listening on it)")]
    public static partial void StaleSocketRemoved(ILogger logger, string socketPath);

    [LoggerMessage(LogEvents.LivepatchUnsupported, LogLevel.Warning, "livepatch is not supported by the running kernel ({Path} is missing); serving status only")]
    public static partial void LivepatchUnsupported(ILogger logger, string path);

    [LoggerMessage(LogEvents.RequestFailed, LogLevel.Warning, "request {Method} failed: {Reason}: {Message}")]
    public static partial void RequestFailed(ILogger logger, string method, string reason, string message);

    [LoggerMessage(LogEvents.RequestCrashed, LogLevel.Error, "request {Method} failed unexpectedly")]
    public static partial void RequestCrashed(ILogger logger, string method, Exception exception);

    [LoggerMessage(LogEvents.SubscriberLagged, LogLevel.Information, "watch subscriber {Subscriber} lagged: {Dropped} event(s) dropped")]
    public static partial void SubscriberLagged(ILogger logger, long subscriber, long dropped);

    [LoggerMessage(LogEvents.Stopping, LogLevel.Information, "livepatchd stopping")]
    public static partial void Stopping(ILogger logger);

    [LoggerMessage(LogEvents.OperationStarted, LogLevel.Information, "operation #{Id} {Operation} {Patch} started by {Caller} (sha256 {Sha256})")]
    public static partial void OperationStarted(ILogger logger, long id, string operation, string patch, string caller, string sha256);

    [LoggerMessage(LogEvents.OperationChecked, LogLevel.Information, "operation #{Id} {Operation} {Patch}: module checked (sha256 {Sha256}), loading it")]
    public static partial void OperationChecked(ILogger logger, long id, string operation, string patch, string sha256);

    [LoggerMessage(LogEvents.OperationFinished, LogLevel.Information, "operation #{Id} {Operation} {Patch} finished: {Outcome} ({Reason}): {Message}")]
    public static partial void OperationFinished(ILogger logger, long id, string operation, string patch, string outcome, string reason, string message);

    [LoggerMessage(LogEvents.RetryingBusy, LogLevel.Information, "kernel is busy with another transition; retrying {Operation} of {Patch} in {Delay}")]
    public static partial void RetryingBusy(ILogger logger, string operation, string patch, TimeSpan delay);

    [LoggerMessage(LogEvents.BlockingTask, LogLevel.Warning, "stalled transition of {Patch}: pid {Pid} tid {Tid} ({Comm}, unit {Unit}) blocks it: {HeldBy}")]
    public static partial void BlockingTask(ILogger logger, string patch, int pid, int tid, string comm, string unit, string heldBy);

    [LoggerMessage(LogEvents.SupervisorStep, LogLevel.Warning, "stalled transition of {Patch} after {Seconds:F0} s: {Step}: {Message}")]
    public static partial void SupervisorStep(ILogger logger, string patch, double seconds, string step, string message);

    [LoggerMessage(LogEvents.SupervisorStepFailed, LogLevel.Error, "transition supervisor step failed: {Reason}: {Message}")]
    public static partial void SupervisorStepFailed(ILogger logger, string reason, string message);

    [LoggerMessage(LogEvents.PermissionDenied, LogLevel.Warning, "permission denied: {Method} called by {Caller} (uid {Uid}, pid {Pid})")]
    public static partial void PermissionDenied(ILogger logger, string method, int uid, int pid, string caller);

    [LoggerMessage(LogEvents.LimitReached, LogLevel.Warning, "limit reached: uid {Uid} (pid {Pid}) asked for more {What} with {Count} open; the limit is {Limit}")]
    public static partial void LimitReached(ILogger logger, string what, int uid, int pid, int count, int limit);

    [LoggerMessage(LogEvents.RequestTimedOut, LogLevel.Warning, "request {Method} from {Caller} exceeded Limits:RequestTimeout ({Timeout}); aborted")]
    public static partial void RequestTimedOut(ILogger logger, string method, string caller, TimeSpan timeout);

    [LoggerMessage(LogEvents.OperationCrashed, LogLevel.Error, "operation #{Id} failed with an unexpected error")]
    public static partial void OperationCrashed(ILogger logger, long id, Exception exception);

    [LoggerMessage(LogEvents.FinishNotJournalled, LogLevel.Error, "operation #{Id} ended, but its finish could not be journalled: {Problem}")]
    public static partial void FinishNotJournalled(ILogger logger, long id, string problem);

    [LoggerMessage(LogEvents.OperationCancelRequested, LogLevel.Information, "operation #{Id}: cancel requested by {Caller}")]
    public static partial void OperationCancelRequested(ILogger logger, long id, string caller);

    [LoggerMessage(LogEvents.AdminGroupResolved, LogLevel.Information, "Access:AdminGroup {Group} is gid {Gid}: its members may change patches")]
    public static partial void AdminGroupResolved(ILogger logger, string group, uint gid);

    [LoggerMessage(LogEvents.AdminGroupUnresolved, LogLevel.Warning, "Access:AdminGroup {Group} does not resolve ({Problem}); until it does, only root may change patches")]
    public static partial void AdminGroupUnresolved(ILogger logger, string group, string problem);

    [LoggerMessage(LogEvents.AdminGroupNone, LogLevel.Information, "Access:AdminGroup is empty: only root may change patches")]
    public static partial void AdminGroupNone(ILogger logger);

    [LoggerMessage(LogEvents.MalformedRequest, LogLevel.Warning, "malformed request: {Method} from {Caller}: {Problem}")]
    public static partial void MalformedRequest(ILogger logger, string method, string caller, string problem);
}

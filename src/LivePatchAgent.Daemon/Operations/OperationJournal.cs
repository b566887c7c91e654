namespace LivePatchAgent.Daemon.Operations;

/// <summary>Who asked for an operation.</summary>
internal sealed record Caller(int? Pid, int? Uid, string Description)
{
    public static Caller Daemon { get; } = new(Environment.ProcessId, null, "livepatchd");

    public override string ToString() => Description;
}

/// <summary>
/// Records every mutation before it acts and after it finishes. Today the record goes to the log; the durable,
/// fsync'd audit journal replaces this implementation without touching the operations.
/// </summary>
internal interface IOperationJournal
{
    /// <summary>Records the start of an operation; the returned id ties the finish to it.</summary>
    long Started(string operation, string? patch, Caller caller, string? sha256 = null);

    void Finished(long id, string operation, string? patch, string outcome, string? reason, string message);
}

/// <summary>The journal as log lines.</summary>
internal sealed class LoggingOperationJournal(ILogger<LoggingOperationJournal> logger) : IOperationJournal
{
    private long _next;

    public long Started(string operation, string? patch, Caller caller, string? sha256 = null)
    {
        var id = Interlocked.Increment(ref _next);
        Log.OperationStarted(logger, id, operation, patch ?? "-", caller.Description, sha256 ?? "-");
        return id;
    }

    public void Finished(long id, string operation, string? patch, string outcome, string? reason, string message) =>
        Log.OperationFinished(logger, id, operation, patch ?? "-", outcome, reason ?? "-", message);
}

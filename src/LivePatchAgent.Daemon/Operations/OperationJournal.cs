namespace LivePatchAgent.Daemon.Operations;

/// <summary>Who asked for an operation.</summary>
internal sealed record Caller(int? Pid, int? Uid, string Description)
{
    public static Caller Daemon { get; } = new(Environment.ProcessId, null, "livepatchd") { Comm = "livepatchd" };

    /// <summary>The caller's command name from /proc/PID/comm, when it could be read.</summary>
    public string? Comm { get; init; }

    public override string ToString() => Description;
}

/// <summary>
/// Records every mutation before it acts and after it finishes (Journal/AuditJournal.cs: fsync'd JSON lines).
/// </summary>
internal interface IOperationJournal
{
    /// <summary>
    /// Records the start of an operation; the returned id ties the finish to it. Throws journal-unavailable when
    /// the record cannot be written: the caller must then not act.
    /// </summary>
    long Started(string operation, string? patch, Caller caller, string? sha256 = null);

    /// <summary>
    /// Records what passed verification (the module's name and SHA-256) right before it reaches the kernel or the
    /// store. Throws journal-unavailable when that cannot be written: the caller must then not act.
    /// </summary>
    void Checked(long id, string operation, string patch, string sha256);

    /// <summary>Records how the operation ended: its result word (OperationResult.Word), reason and message.</summary>
    void Finished(long id, string operation, string? patch, string outcome, string? reason, string message);
}

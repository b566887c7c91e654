using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Journal;

/// <summary>
/// The durable audit journal. Every mutation writes a <em>started</em> entry, fsync'd, before it acts (when that
/// write fails the mutation is refused with journal-unavailable: nothing happens that is not on record) and a
/// <em>finished</em> entry after. Files are created 0600; a new file and every rotation are made durable with an
/// fsync of the directory. One lock orders the writers; mutations are rare, so each append opens, writes,
/// fsyncs and closes the file, and no descriptor stays open between operations.
/// </summary>
internal sealed class AuditJournal : IOperationJournal
{
    private readonly Lock _lock = new();
    private readonly JournalOptions _options;
    private readonly StateStore _state;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<AuditJournal> _logger;
    private readonly Dictionary<long, long> _startedAt = [];
    private long _lastSeq = -1;
    private bool _tornTail;

    public AuditJournal(IOptions<PathsOptions> paths, IOptions<JournalOptions> options, StateStore state, TimeProvider timeProvider, ILogger<AuditJournal> logger)
    {
        Directory = Path.Combine(paths.Value.StateDir, "journal");
        _options = options.Value;
        _state = state;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public string Directory { get; }

    private string CurrentPath => Path.Combine(Directory, JournalFiles.Current);

    /// <summary>
    /// Reads the journal once at start: reports the lines it skips, finds the next operation id and notes a
    /// torn tail (the next append starts on a fresh line, so the torn bytes stay as evidence and never merge with
    /// a new entry). Returns what was read, for reconciliation.
    /// </summary>
    public JournalContents Open()
    {
        lock (_lock)
        {
            var contents = Load();
            foreach (var problem in contents.Problems)
            {
                JournalLog.LineSkipped(_logger, problem.ToString());
            }

            JournalLog.Opened(_logger, Directory, contents.Entries.Count, _lastSeq + 1);
            return contents;
        }
    }

    /// <summary>Everything in the journal now, oldest first, with the skipped lines.</summary>
    public JournalContents Read()
    {
        lock (_lock)
        {
            return JournalFiles.Read(Directory);
        }
    }

    public long Started(string operation, string? patch, Caller caller, string? sha256 = null)
    {
        lock (_lock)
        {
            var entry = new JournalEntry
            {
                Seq = 0,
                Op = 0,
                Time = _timeProvider.GetUtcNow(),
                Kind = JournalEntryKind.Started,
                Operation = operation,
                Patch = patch,
                BootId = _state.Current.Snapshot.Kernel.BootId,
                Sha256 = sha256,
                Uid = caller.Uid,
                Pid = caller.Pid,
                Comm = caller.Comm,
                Caller = caller.Description,
            };
            long seq;
            try
            {
                EnsureOpen();
                seq = _lastSeq + 1;
                Append(entry with { Seq = seq, Op = seq });
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                JournalLog.WriteFailed(_logger, CurrentPath, e.Message);
                throw new AgentException(ErrorReason.JournalUnavailable,
                    $"cannot record the {operation} of {patch ?? "-"} in the audit journal {CurrentPath}: {e.Message}; nothing was done");
            }

            _lastSeq = seq;
            _startedAt[seq] = _timeProvider.GetTimestamp();
            Log.OperationStarted(_logger, seq, operation, patch ?? "-", caller.Description, sha256 ?? "-");
            return seq;
        }
    }

    public void Checked(long id, string operation, string patch, string sha256)
    {
        lock (_lock)
        {
            try
            {
                EnsureOpen();
                var seq = _lastSeq + 1;
                Append(new JournalEntry
                {
                    Seq = seq,
                    Op = id,
                    Time = _timeProvider.GetUtcNow(),
                    Kind = JournalEntryKind.Checked,
                    Operation = operation,
                    Patch = patch,
                    BootId = _state.Current.Snapshot.Kernel.BootId,
                    Sha256 = sha256,
                });
                _lastSeq = seq;
                Log.OperationChecked(_logger, id, operation, patch, sha256);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                JournalLog.WriteFailed(_logger, CurrentPath, e.Message);
                throw new AgentException(ErrorReason.JournalUnavailable,
                    $"cannot record the checked module {patch} (sha256 {sha256}) in the audit journal {CurrentPath}: {e.Message}; it was not loaded");
            }
        }
    }

    public void Finished(long id, string operation, string? patch, string outcome, string? reason, string message)
    {
        lock (_lock)
        {
            long? duration = _startedAt.Remove(id, out var started) ? (long)_timeProvider.GetElapsedTime(started).TotalMilliseconds : null;
            Log.OperationFinished(_logger, id, operation, patch ?? "-", outcome, reason ?? "-", message);
            Write(new JournalEntry
            {
                Seq = _lastSeq + 1,
                Op = id,
                Time = _timeProvider.GetUtcNow(),
                Kind = JournalEntryKind.Finished,
                Operation = operation,
                Patch = patch,
                BootId = _state.Current.Snapshot.Kernel.BootId,
                Outcome = outcome,
                Reason = reason,
                Message = message,
                DurationMs = duration,
            });
        }
    }

    /// <summary>Closes an operation a crash left open, with what the kernel and the store show now.</summary>
    public void Interrupted(JournalEntry started, string kernelState, bool? installed, string message)
    {
        lock (_lock)
        {
            JournalLog.Interrupted(_logger, started.Op, started.Operation, started.Patch ?? "-", started.Caller ?? "?", message);
            Write(new JournalEntry
            {
                Seq = _lastSeq + 1,
                Op = started.Op,
                Time = _timeProvider.GetUtcNow(),
                Kind = JournalEntryKind.Finished,
                Operation = started.Operation,
                Patch = started.Patch,
                BootId = _state.Current.Snapshot.Kernel.BootId,
                Outcome = "interrupted",
                Message = message,
                KernelState = kernelState,
                Installed = installed,
            });
        }
    }

    /// <summary>A finished entry is written after the fact: when that fails the operation still happened, so it is logged, not thrown.</summary>
    private void Write(JournalEntry entry)
    {
        try
        {
            EnsureOpen();
            Append(entry with { Seq = _lastSeq + 1 });
            _lastSeq++;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            JournalLog.WriteFailed(_logger, CurrentPath, e.Message);
        }
    }

    /// <summary>Without <see cref="Open"/> (tests, or a write before reconciliation ran): read the files once.</summary>
    private void EnsureOpen()
    {
        if (_lastSeq < 0)
        {
            Load();
        }
    }

    /// <summary>Reads the files: the last sequence number, and whether the current file ends in a torn line.</summary>
    private JournalContents Load()
    {
        var contents = JournalFiles.Read(Directory);
        _lastSeq = contents.Entries.Count == 0 ? 0 : contents.Entries.Max(e => e.Seq);
        _tornTail = JournalFiles.EndsTorn(CurrentPath);
        return contents;
    }

    private void Append(JournalEntry entry)
    {
        var line = entry.ToJsonLine();
        if (!System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            DurableFile.SyncDirectory(Path.GetDirectoryName(Directory)!);
        }

        var existing = new FileInfo(CurrentPath);
        if (existing.Exists && existing.Length > 0 && existing.Length + line.Length > _options.MaxFileSize)
        {
            Rotate(existing.Length);
        }

        var created = !File.Exists(CurrentPath);
        var options = new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = 0,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(CurrentPath, options))
        {
            if (_tornTail && stream.Length > 0)
            {
                // The torn bytes of a crashed write stay as evidence on their own line; the reader reports them.
                stream.WriteByte((byte)'\n');
            }

            stream.Write(line);
            stream.Flush(flushToDisk: true);
        }

        _tornTail = false;
        if (created)
        {
            DurableFile.SyncDirectory(Directory);
        }
    }

    private void Rotate(long size)
    {
        var keep = _options.KeepFiles;
        if (keep == 1)
        {
            File.Delete(CurrentPath);
        }

        for (var n = keep - 2; n >= 1; n--)
        {
            var from = Path.Combine(Directory, JournalFiles.Rotated(n));
            if (File.Exists(from))
            {
                File.Move(from, Path.Combine(Directory, JournalFiles.Rotated(n + 1)), overwrite: true);
            }
        }

        if (keep > 1)
        {
            File.Move(CurrentPath, Path.Combine(Directory, JournalFiles.Rotated(1)), overwrite: true);
        }

        // Files beyond the count kept (KeepFiles lowered since) go too.
        foreach (var stale in System.IO.Directory.EnumerateFiles(Directory, "journal.*.jsonl"))
        {
            if (JournalFiles.RotationNumber(Path.GetFileName(stale)) >= keep)
            {
                File.Delete(stale);
            }
        }

        _tornTail = false;
        DurableFile.SyncDirectory(Directory);
        JournalLog.Rotated(_logger, CurrentPath, size);
    }
}

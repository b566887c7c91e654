using System.Text;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Journal;
using LivePatchAgent.Daemon.Operations;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LivePatchAgent.Unit.Tests.Daemon.Journal;

public sealed class AuditJournalTests : IDisposable
{
    private const string Boot = "11111111-2222-3333-4444-555555555555";
    private readonly string _root = Directory.CreateTempSubdirectory("lpa-journal-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly StateStore _state = new();
    private static readonly Caller Admin = new(4242, 0, "lpctl[4242] uid 0") { Comm = "lpctl" };

    public AuditJournalTests() => _state.Update(Snapshot(Boot));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string JournalDir => Path.Combine(_root, "journal");

    private AuditJournal Journal(long maxFileSize = 4 * 1024 * 1024, int keep = 8) => new(
        Options.Create(new PathsOptions { StateDir = _root }),
        Options.Create(new JournalOptions { MaxFileSize = maxFileSize, KeepFiles = keep }),
        _state, _time, NullLogger<AuditJournal>.Instance);

    private KernelSnapshot Snapshot(string bootId, params LivePatch[] patches) => new()
    {
        TakenAt = _time.GetUtcNow(),
        Kernel = new KernelFacts { Release = "6.1.0-test", BootId = bootId, LivepatchSupported = true },
        Patches = [.. patches],
    };

    [Fact]
    public void Records_started_and_finished_with_caller_hash_boot_and_duration()
    {
        var journal = Journal();
        var id = journal.Started("load", "lpdemo_v1", Admin, "ab12");
        _time.Advance(TimeSpan.FromSeconds(3));
        journal.Finished(id, "load", "lpdemo_v1", "ok", null, "loaded lpdemo_v1: patching complete");

        var contents = journal.Read();
        Assert.Empty(contents.Problems);
        Assert.Collection(contents.Entries,
            started =>
            {
                Assert.Equal(JournalEntryKind.Started, started.Kind);
                Assert.Equal(id, started.Op);
                Assert.Equal(("load", "lpdemo_v1", "ab12"), (started.Operation, started.Patch, started.Sha256));
                Assert.Equal((0, 4242, "lpctl"), (started.Uid!.Value, started.Pid!.Value, started.Comm));
                Assert.Equal(Boot, started.BootId);
            },
            finished =>
            {
                Assert.Equal(JournalEntryKind.Finished, finished.Kind);
                Assert.Equal(id, finished.Op);
                Assert.Equal("ok", finished.Outcome);
                Assert.Equal(3000, finished.DurationMs);
            });
        var mode = File.GetUnixFileMode(Path.Combine(JournalDir, JournalFiles.Current));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
    }

    [Fact]
    public void Operation_ids_continue_across_restarts()
    {
        var first = Journal();
        var a = first.Started("kick", "p", Admin);
        first.Finished(a, "kick", "p", "ok", null, "kicked");

        var second = Journal();
        second.Open();
        var b = second.Started("kick", "p", Admin);

        Assert.True(b > a + 1, $"{b} must follow {a} and its finished entry");
    }

    [Fact]
    public void A_torn_last_line_is_reported_and_skipped_and_the_next_entry_starts_on_its_own_line()
    {
        var journal = Journal();
        var id = journal.Started("load", "lpdemo_v1", Admin);
        // A crash in the middle of writing the finished entry.
        File.AppendAllText(Path.Combine(JournalDir, JournalFiles.Current), "{\"v\":1,\"seq\":2,\"time\":\"2026-11-");

        var reopened = Journal();
        var contents = reopened.Open();
        var problem = Assert.Single(contents.Problems);
        Assert.Contains("torn last line", problem.Description, StringComparison.Ordinal);
        Assert.Equal(2, problem.Line);
        Assert.Equal(id, Assert.Single(contents.Unfinished()).Op);

        var next = reopened.Started("unload", "lpdemo_v1", Admin);
        var after = reopened.Read();
        Assert.Contains(after.Entries, e => e.Op == next);
        // The torn bytes are kept as evidence on their own line, which the reader reports as unreadable.
        var skipped = Assert.Single(after.Problems);
        Assert.Contains("unreadable line", skipped.Description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"v\":1}")]
    [InlineData("{\"v\":1,\"seq\":\"x\",\"op\":1,\"event\":\"started\",\"operation\":\"load\",\"time\":\"2026-11-28T12:00:00Z\"}")]
    [InlineData("{\"v\":1,\"seq\":1,\"op\":1,\"event\":\"exploded\",\"operation\":\"load\",\"time\":\"2026-11-28T12:00:00Z\"}")]
    [InlineData("\u0000\u0001\u0002")]
    public void A_garbled_line_in_the_middle_is_skipped_and_the_rest_is_read(string garbage)
    {
        var journal = Journal();
        var a = journal.Started("kick", "p", Admin);
        File.AppendAllText(Path.Combine(JournalDir, JournalFiles.Current), garbage + "\n");
        journal.Finished(a, "kick", "p", "ok", null, "done");

        var contents = Journal().Open();
        Assert.Equal(2, contents.Entries.Count);
        Assert.Equal(2, Assert.Single(contents.Problems).Line);
        Assert.Empty(contents.Unfinished());
    }

    [Fact]
    public void Rotates_by_size_and_keeps_the_configured_number_of_files()
    {
        var journal = Journal(maxFileSize: 4096, keep: 3);
        for (var i = 0; i < 60; i++)
        {
            var id = journal.Started("kick", "patch_" + i, Admin);
            journal.Finished(id, "kick", "patch_" + i, "ok", null, new string('x', 100));
        }

        var files = JournalFiles.Existing(JournalDir).Select(Path.GetFileName).ToList();
        Assert.Equal(["journal.2.jsonl", "journal.1.jsonl", "journal.jsonl"], files);
        Assert.All(JournalFiles.Existing(JournalDir), f => Assert.True(new FileInfo(f).Length <= 4096, f));

        // The oldest entries are gone, the rest are in order with no gap, and the newest is last.
        var seqs = Journal().Read().Entries.Select(e => e.Seq).ToList();
        Assert.Equal(Enumerable.Range((int)seqs[0], seqs.Count).Select(i => (long)i), seqs);
        Assert.Equal(120, seqs[^1]);
        Assert.True(seqs[0] > 1);
    }

    [Fact]
    public void A_journal_that_cannot_be_written_refuses_the_operation_before_it_acts()
    {
        File.WriteAllText(JournalDir, "a file where the directory should be");
        var journal = Journal();

        var error = Assert.Throws<AgentException>(() => journal.Started("load", "lpdemo_v1", Admin));
        Assert.Equal(ErrorReason.JournalUnavailable, error.Reason);
        Assert.Contains("nothing was done", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Interrupted_closes_the_operation_with_what_the_kernel_shows()
    {
        var journal = Journal();
        var id = journal.Started("load", "lpdemo_v1", Admin, "ab12");

        var restarted = Journal();
        var started = Assert.Single(restarted.Open().Unfinished());
        _state.Update(Snapshot(Boot, new LivePatch { Name = "lpdemo_v1", Enabled = true, Transition = false }));
        var (state, message) = JournalReconciliation.Describe(started, _state.Current.Snapshot, installed: false);
        restarted.Interrupted(started, state, false, message);

        var operation = Assert.Single(JournalHistory.Operations(restarted.Read().Entries));
        Assert.Equal(id, operation.Id);
        Assert.Equal("interrupted", operation.Finished!.Outcome);
        Assert.Equal("enabled", operation.Finished.KernelState);
        Assert.False(operation.Finished.Installed);
        Assert.StartsWith("the load completed: the kernel shows lpdemo_v1 loaded and enabled", operation.Finished.Message, StringComparison.Ordinal);
        Assert.Empty(restarted.Read().Unfinished());
    }

    public static TheoryData<string, LivePatch?, bool, string, string> Outcomes => new()
    {
        { "load", null, false, "absent", "the load did not take effect" },
        { "load", new LivePatch { Name = "p", Enabled = true, Transition = true }, false, "patching", "the module was loaded; its transition is still running" },
        { "startup-apply", new LivePatch { Name = "p", Enabled = true, Transition = false }, false, "enabled", "the load completed" },
        { "load", null, true, "module-only", "the module was loaded but its patch is gone" },
        { "unload", null, false, "absent", "the unload completed" },
        { "unload", null, true, "module-only", "the patch was disabled, but its module was not removed" },
        { "unload", new LivePatch { Name = "p", Enabled = false, Transition = true }, false, "unpatching", "the patch is being disabled" },
        { "unload", new LivePatch { Name = "p", Enabled = true, Transition = false }, false, "enabled", "the unload did not take effect" },
    };

    [Theory]
    [MemberData(nameof(Outcomes))]
    public void Describes_the_true_outcome_of_each_interrupted_operation(string operation, LivePatch? patch, bool leftover, string expectedState, string expectedVerdict)
    {
        var started = new JournalEntry { Seq = 7, Op = 7, Time = _time.GetUtcNow(), Kind = JournalEntryKind.Started, Operation = operation, Patch = "p", BootId = Boot };
        var snapshot = Snapshot(Boot, patch is null ? [] : [patch]) with
        {
            Leftovers = leftover ? [new LeftoverModule("p", new ModuleFacts())] : [],
        };

        var (state, message) = JournalReconciliation.Describe(started, snapshot, installed: null);

        Assert.Equal(expectedState, state);
        Assert.StartsWith(expectedVerdict, message, StringComparison.Ordinal);
    }

    [Fact]
    public void After_a_reboot_only_what_this_boot_shows_is_claimed()
    {
        var started = new JournalEntry { Seq = 3, Op = 3, Time = _time.GetUtcNow(), Kind = JournalEntryKind.Started, Operation = "load", Patch = "p", BootId = "old-boot" };

        var (state, message) = JournalReconciliation.Describe(started, Snapshot(Boot), installed: true);

        Assert.Equal("absent", state);
        Assert.Contains("the machine rebooted since the load started (boot old-boot)", message, StringComparison.Ordinal);
        Assert.Contains("the store holds p for 6.1.0-test", message, StringComparison.Ordinal);
        Assert.DoesNotContain("did not take effect", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Entries_round_trip_through_their_json_line()
    {
        var entry = new JournalEntry
        {
            Seq = 9, Op = 8, Time = _time.GetUtcNow(), Kind = JournalEntryKind.Finished, Operation = "load", Patch = "p\"q\n",
            BootId = Boot, Outcome = "interrupted", Reason = "x", Message = "line\nbreak \u001b[31m", DurationMs = 12, KernelState = "absent", Installed = true,
        };

        var line = entry.ToJsonLine();

        Assert.Equal((byte)'\n', line[^1]);
        Assert.Equal(1, line.Count(b => b == (byte)'\n'));
        Assert.Equal(entry, JournalEntry.TryParse(line.AsSpan(0, line.Length - 1), out var problem));
        Assert.Null(problem);
        Assert.Contains("\"event\":\"finished\"", Encoding.UTF8.GetString(line), StringComparison.Ordinal);
    }

    [Fact]
    public void History_joins_operations_and_selects_the_newest_matching()
    {
        var journal = Journal();
        var a = journal.Started("load", "a", Admin);
        journal.Finished(a, "load", "a", "ok", null, "ok");
        _time.Advance(TimeSpan.FromHours(1));
        var b = journal.Started("load", "b", Admin);
        var c = journal.Started("kick", "a", Admin);
        journal.Finished(c, "kick", "a", "failed", "no-transition", "none");

        var operations = JournalHistory.Operations(journal.Read().Entries);
        Assert.Equal([a, b, c], operations.Select(o => o.Id));
        Assert.Null(operations[1].Finished);

        var (recent, total) = JournalHistory.Select(operations, _time.GetUtcNow() - TimeSpan.FromMinutes(5), null, 10);
        Assert.Equal([b, c], recent.Select(o => o.Id));
        Assert.Equal(2, total);
        var (onA, _) = JournalHistory.Select(operations, null, "a", 1);
        Assert.Equal([c], onA.Select(o => o.Id));
    }
}

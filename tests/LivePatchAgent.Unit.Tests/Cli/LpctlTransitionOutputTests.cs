using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary>
/// The output of blocking, revert, force and kick, and how forced modules and stalls show in list, info, status
/// and watch: table text for people, the JSON contract for scripts.
/// </summary>
public sealed class LpctlTransitionOutputTests
{
    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;

    [Fact]
    public void Blocking_table_names_the_transition_then_each_thread_with_what_holds_it_and_its_stack()
    {
        var lines = TableOutput.Blocking(ProtocolSamples.Blocking()).Split('\n');

        Assert.Equal(
        [
            "lpdemo_sleeper_v1 patching for 45.2s: 2 blocking threads (1234 threads scanned)",
            "",
            "PID  TID  COMM          UNIT                    HELD-BY",
            "812  813  lpdemo-sleep  lpdemo-sleeper.service  lpdemo_sleeper_wait (lpdemo_sleeper)",
            "    sleeping in lpdemo_sleeper_wait() (lpdemo_sleeper), which the patch replaces",
            "    cmdline: /usr/local/bin/lpdemo-sleep --forever",
            "    stack:",
            "      [<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]",
            "      [<0>] full_proxy_read+0x5c/0x90",
            "      [<0>] do_syscall_64+0x3b/0x90",
            "57   57   kworker/0:2   (kernel thread)         -",
            "    no function of the patch is on its stack; it may be running or have an unreliable stack",
            "    kernel thread: signals cannot kick it",
            "    stack: unavailable: cannot read the kernel stack: permission denied",
            "",
        ],
            lines);
    }

    [Fact]
    public void Blocking_table_without_a_transition_says_so()
    {
        var response = new BlockingTasksResponse { Message = "no transition is running" };

        Assert.Equal("no transition is running\n", TableOutput.Blocking(response));
    }

    [Fact]
    public void Blocking_table_with_no_blocking_thread_gives_the_daemons_explanation()
    {
        var response = new BlockingTasksResponse
        {
            Patch = "lpdemo_v3",
            Patching = false,
            Elapsed = Duration.FromTimeSpan(TimeSpan.FromSeconds(31)),
            ThreadsScanned = 1,
            Message = "lpdemo_v3 has been unpatching for 31 s, but no thread in /proc blocks it (1 scanned): idle tasks, which /proc does not show, or a race hold it; it usually completes within seconds",
        };

        Assert.Equal(
            "lpdemo_v3 unpatching for 31.0s: no blocking thread found (1 thread scanned)\n"
            + "lpdemo_v3 has been unpatching for 31 s, but no thread in /proc blocks it (1 scanned): idle tasks, which /proc does not show, or a race hold it; it usually completes within seconds\n",
            TableOutput.Blocking(response));
    }

    [Fact]
    public void Blocking_table_escapes_what_processes_control()
    {
        var response = ProtocolSamples.Blocking();
        // A process can name itself and write its own command line; neither may drive the terminal.
        response.Tasks[0].Comm = "evil\u001b]0;owned\u0007";
        response.Tasks[0].Cmdline = "sh -c \"x\ny\"\u009b2J";
        response.Tasks[0].Stack[1] = "[<0>] f\u202eoo+0x1/0x2";
        response.Tasks[0].Unit = "a\rb.service";

        var text = TableOutput.Blocking(response);

        Assert.DoesNotContain(text, c => char.IsControl(c) && c != '\n');
        Assert.DoesNotContain('\u202e', text);
        Assert.Contains(@"evil\x1b]0;owned\x07", text, StringComparison.Ordinal);
        Assert.Contains(@"    cmdline: sh -c ""x\x0ay""\x9b2J" + "\n", text, StringComparison.Ordinal);
        Assert.Contains(@"      [<0>] f\u202eoo+0x1/0x2" + "\n", text, StringComparison.Ordinal);
        Assert.Contains(@"a\x0db.service", text, StringComparison.Ordinal);
        // Escaping keeps the table aligned: every row's COMM column starts where the header's does.
        var lines = text.Split('\n');
        var header = Array.FindIndex(lines, l => l.StartsWith("PID ", StringComparison.Ordinal));
        var unit = lines[header].IndexOf("UNIT", StringComparison.Ordinal);
        Assert.Equal(' ', lines[header + 1][unit - 1]);
        Assert.NotEqual(' ', lines[header + 1][unit]);
    }

    [Fact]
    public void Blocking_document_has_the_contract_fields()
    {
        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(ProtocolSamples.Blocking()), LpctlJsonContext.Default.BlockingDocument));
        var root = json.RootElement;

        Assert.Equal(["schemaVersion", "patch", "patching", "elapsedSeconds", "threadsScanned", "message", "tasks"], Names(root));
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("lpdemo_sleeper_v1", root.GetProperty("patch").GetString());
        Assert.True(root.GetProperty("patching").GetBoolean());
        Assert.Equal(45.2, root.GetProperty("elapsedSeconds").GetDouble());
        Assert.Equal(1234, root.GetProperty("threadsScanned").GetInt32());
        Assert.StartsWith("2 thread(s) block", root.GetProperty("message").GetString(), StringComparison.Ordinal);

        var tasks = root.GetProperty("tasks");
        Assert.Equal(2, tasks.GetArrayLength());
        var sleeper = tasks[0];
        Assert.Equal(
            ["pid", "tid", "comm", "cmdline", "kernelThread", "unit", "heldBy", "explanation", "stack", "stackProblem"],
            Names(sleeper));
        Assert.Equal(812, sleeper.GetProperty("pid").GetInt32());
        Assert.Equal(813, sleeper.GetProperty("tid").GetInt32());
        Assert.Equal("lpdemo-sleep", sleeper.GetProperty("comm").GetString());
        Assert.Equal("/usr/local/bin/lpdemo-sleep --forever", sleeper.GetProperty("cmdline").GetString());
        Assert.False(sleeper.GetProperty("kernelThread").GetBoolean());
        Assert.Equal("lpdemo-sleeper.service", sleeper.GetProperty("unit").GetString());
        var heldBy = sleeper.GetProperty("heldBy");
        Assert.Equal(["function", "object", "frame"], Names(heldBy));
        Assert.Equal("lpdemo_sleeper_wait", heldBy.GetProperty("function").GetString());
        Assert.Equal("lpdemo_sleeper", heldBy.GetProperty("object").GetString());
        Assert.Equal("[<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]", heldBy.GetProperty("frame").GetString());
        Assert.Equal(3, sleeper.GetProperty("stack").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, sleeper.GetProperty("stackProblem").ValueKind);

        var kthread = tasks[1];
        Assert.True(kthread.GetProperty("kernelThread").GetBoolean());
        Assert.Equal(JsonValueKind.Null, kthread.GetProperty("cmdline").ValueKind);
        Assert.Equal(JsonValueKind.Null, kthread.GetProperty("unit").ValueKind);
        Assert.Equal(JsonValueKind.Null, kthread.GetProperty("heldBy").ValueKind);
        Assert.Equal(0, kthread.GetProperty("stack").GetArrayLength());
        Assert.Equal("cannot read the kernel stack: permission denied", kthread.GetProperty("stackProblem").GetString());
    }

    [Fact]
    public void Blocking_document_without_a_transition_has_null_facts_and_no_tasks()
    {
        var response = new BlockingTasksResponse { Message = "no transition is running" };

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.BlockingDocument));
        var root = json.RootElement;

        Assert.Equal(JsonValueKind.Null, root.GetProperty("patch").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("patching").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("elapsedSeconds").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("threadsScanned").ValueKind);
        Assert.Equal("no transition is running", root.GetProperty("message").GetString());
        Assert.Equal(0, root.GetProperty("tasks").GetArrayLength());
    }

    [Fact]
    public void Revert_table_is_the_result_on_one_line_and_the_document_has_the_contract_fields()
    {
        var operation = Operations.Finished("revert", OperationResultKind.Completed, "reverted lpdemo_v3: the patching transition was reversed and the module removed");
        operation.Revert = new RevertTransitionResponse { Name = "lpdemo_v3", Completed = true, ModuleRemoved = true, Message = operation.Message };

        Assert.Equal("completed: reverted lpdemo_v3: the patching transition was reversed and the module removed (3.2s)\n", OperationOutput.Table(operation));
        using var json = Parse(OperationOutput.Json(operation, null));
        Assert.Equal(["schemaVersion", "name", "completed", "moduleRemoved", "message", "operation", "result", "error"], Names(json.RootElement));
        Assert.True(json.RootElement.GetProperty("completed").GetBoolean());
        Assert.Equal("completed", json.RootElement.GetProperty("result").GetProperty("kind").GetString());
        Assert.Equal(42, json.RootElement.GetProperty("operation").GetProperty("id").GetInt64());
    }

    [Fact]
    public void Force_table_puts_the_pinned_modules_on_their_own_line()
    {
        var response = new ForceTransitionResponse
        {
            Name = "lpdemo_v3",
            Completed = true,
            Pinned = { "lpdemo_v2", "lpdemo_v1" },
            Message = "forced the patching transition of lpdemo_v3; pinned until reboot: lpdemo_v2, lpdemo_v1",
        };

        Assert.Equal("pinned until reboot: lpdemo_v2, lpdemo_v1\n", TableOutput.Force(response));

        response.Pinned.Clear();
        Assert.Equal("no module is pinned\n", TableOutput.Force(response));
    }

    [Fact]
    public void Force_document_has_the_contract_fields()
    {
        var response = new ForceTransitionResponse { Name = "lpdemo_v3", Completed = true, Pinned = { "lpdemo_v2" }, Message = "forced" };

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.ForceDocument));
        var root = json.RootElement;

        Assert.Equal(["schemaVersion", "name", "pinned", "completed", "message", "operation", "result", "error"], Names(root));
        Assert.Equal("lpdemo_v2", root.GetProperty("pinned")[0].GetString());
        Assert.True(root.GetProperty("completed").GetBoolean());
    }

    [Fact]
    public void Kick_table_shows_the_method_the_processes_and_the_skipped_kernel_threads()
    {
        var response = new KickTasksResponse
        {
            Name = "lpdemo_v3",
            KickedPids = { 812, 900 },
            KernelThreadsSkipped = 1,
            Method = "sigstop-sigcont",
            Message = "kicked 2 process(es) blocking lpdemo_v3 with SIGSTOP+SIGCONT; 1 kernel thread(s) cannot be kicked",
        };

        var text = TableOutput.Kick(response);

        Assert.Contains("Patch:           lpdemo_v3\n", text, StringComparison.Ordinal);
        Assert.Contains("Method:          SIGSTOP then SIGCONT to each blocked user process\n", text, StringComparison.Ordinal);
        Assert.Contains("Kicked:          812, 900\n", text, StringComparison.Ordinal);
        Assert.Contains("Kernel threads:  1 skipped kernel thread (signals cannot kick them)\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Kick_through_the_signal_attribute_says_the_kernel_signals_every_blocked_task()
    {
        var response = new KickTasksResponse { Name = "lpdemo_v3", Method = "signal-attribute", Message = "the kernel fake-signalled the blocked tasks of lpdemo_v3" };

        var text = TableOutput.Kick(response);

        Assert.Contains("Method:          the kernel's fake signal to every blocked task (the patch's signal attribute)\n", text, StringComparison.Ordinal);
        Assert.Contains("Kicked:          every blocked task, by the kernel\n", text, StringComparison.Ordinal);
        Assert.Contains("Kernel threads:  none skipped\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Kick_document_has_the_contract_fields()
    {
        var response = new KickTasksResponse { Name = "lpdemo_v3", KickedPids = { 812 }, KernelThreadsSkipped = 2, Method = "sigstop-sigcont", Message = "kicked" };

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.KickDocument));
        var root = json.RootElement;

        Assert.Equal(["schemaVersion", "name", "kickedPids", "kernelThreadsSkipped", "method", "message", "operation", "result", "error"], Names(root));
        Assert.Equal(812, root.GetProperty("kickedPids")[0].GetInt32());
        Assert.Equal(2, root.GetProperty("kernelThreadsSkipped").GetInt32());
        Assert.Equal("sigstop-sigcont", root.GetProperty("method").GetString());
    }

    [Fact]
    public void List_and_info_show_a_forced_patch_as_reboot_to_unload()
    {
        var patch = ProtocolSamples.DemoPatch();
        patch.Forced = true;

        var list = TableOutput.PatchList(new ListPatchesResponse { Patches = { patch } }).Split('\n');
        var info = TableOutput.PatchInfo(patch);

        Assert.Matches("^lpdemo_v1  enabled, forced \\(reboot to unload\\)  1 ", list[1]);
        Assert.Contains("State:        enabled, forced (reboot to unload)\n", info, StringComparison.Ordinal);
    }

    [Fact]
    public void List_marks_a_forced_leftover_in_a_note_column()
    {
        var pinned = ProtocolSamples.Leftover("lpdemo_v1");
        pinned.Forced = true;
        var response = new ListPatchesResponse { Leftovers = { pinned, ProtocolSamples.Leftover("lpdemo_old") } };

        var lines = TableOutput.PatchList(response).TrimEnd('\n').Split('\n');

        Assert.Equal("NAME        REFCNT  TAINT  SRCVERSION               INITSTATE  NOTE", lines[^3]);
        Assert.Equal("lpdemo_v1   0       OEK    FEDCBA9876543210FEDCBA9  live       forced (reboot to unload)", lines[^2]);
        Assert.Equal("lpdemo_old  0       OEK    FEDCBA9876543210FEDCBA9  live       -", lines[^1]);
    }

    [Fact]
    public void List_document_carries_forced_on_patches_and_leftovers()
    {
        var patch = ProtocolSamples.DemoPatch();
        patch.Forced = true;
        var leftover = ProtocolSamples.Leftover("lpdemo_old");
        leftover.Forced = true;
        var response = new ListPatchesResponse { Patches = { patch, ProtocolSamples.ReplacePatch() }, Leftovers = { leftover } };

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.PatchListDocument));
        var root = json.RootElement;

        Assert.True(root.GetProperty("patches")[0].GetProperty("forced").GetBoolean());
        Assert.False(root.GetProperty("patches")[1].GetProperty("forced").GetBoolean());
        Assert.True(root.GetProperty("leftovers")[0].GetProperty("forced").GetBoolean());
    }

    [Fact]
    public void Status_table_shows_forced_modules_and_the_blocking_count_of_a_stall()
    {
        var status = ProtocolSamples.IdleStatus();
        status.State = AgentState.Stalled;
        status.Transition = new Transition { Patch = "lpdemo_v3", Patching = true, Elapsed = Duration.FromTimeSpan(TimeSpan.FromSeconds(45)) };
        status.BlockingTasks = 1;
        status.ForcedModules.Add("lpdemo_v1");
        status.ForcedModules.Add("lpdemo_v2");

        var text = TableOutput.Status(status, Utc);

        Assert.Contains("Forced modules:         lpdemo_v1, lpdemo_v2 (reboot to unload)\n", text, StringComparison.Ordinal);
        Assert.Contains("Transition:             lpdemo_v3 patching for 45.0s\nBlocking:               1 task at the last scan; run `lpctl blocking` to see which and why\n", text, StringComparison.Ordinal);

        status.BlockingTasks = 0;
        Assert.Contains("Blocking:               none found in /proc at the last scan (idle tasks do not show there); run `lpctl blocking`\n", TableOutput.Status(status, Utc), StringComparison.Ordinal);
    }

    [Fact]
    public void Status_table_has_no_forced_or_blocking_line_when_there_is_nothing_to_say()
    {
        var status = ProtocolSamples.IdleStatus();
        status.State = AgentState.Transitioning;
        status.Transition = new Transition { Patch = "lpdemo_v3", Patching = true };

        var text = TableOutput.Status(status, Utc);

        Assert.DoesNotContain("Forced modules:", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Blocking:", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_document_carries_the_forced_modules_and_the_blocking_count_of_a_stall()
    {
        var status = ProtocolSamples.IdleStatus();
        status.State = AgentState.Stalled;
        status.BlockingTasks = 3;
        status.ForcedModules.Add("lpdemo_v1");

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(status), LpctlJsonContext.Default.StatusDocument));
        var root = json.RootElement;

        Assert.Equal("lpdemo_v1", root.GetProperty("forcedModules").EnumerateArray().Single().GetString());
        Assert.Equal(3, root.GetProperty("blockingTasks").GetInt32());
    }

    [Fact]
    public void A_stalled_event_line_leads_with_seconds_and_blocking_tasks()
    {
        var e = StallEvent();

        Assert.Equal(
            "10:00:01.234  transition-stalled    lpdemo_v3         45 s, 1 blocking task: lpdemo-sleep (812) sleeps in lpdemo_sleeper_wait()\n",
            TableOutput.EventLine(e, Utc));

        e.BlockingTasks = 0;
        Assert.Contains("  45 s, 0 blocking tasks: ", TableOutput.EventLine(e, Utc), StringComparison.Ordinal);
    }

    [Fact]
    public void Other_event_lines_have_no_stall_prefix()
    {
        Assert.EndsWith("  lpdemo_v1 finished patching\n", TableOutput.EventLine(ProtocolSamples.TransitionCompleted(), Utc), StringComparison.Ordinal);
    }

    [Fact]
    public void An_event_message_cannot_break_its_line()
    {
        var e = StallEvent();
        e.Message = "comm \"a\nb\u001b[2J\"";

        var line = TableOutput.EventLine(e, Utc);

        Assert.Single(line.TrimEnd('\n').Split('\n'));
        Assert.EndsWith(@"comm ""a\x0ab\x1b[2J""" + "\n", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stalled_event_document_carries_blocking_tasks_and_seconds()
    {
        using var json = Parse(JsonOutput.Line(JsonOutput.ToDocument(StallEvent()), LpctlJsonContext.Default.EventDocument));
        var root = json.RootElement;

        Assert.Equal("transition-stalled", root.GetProperty("kind").GetString());
        Assert.Equal(1, root.GetProperty("blockingTasks").GetInt32());
        Assert.Equal(45.2, root.GetProperty("seconds").GetDouble());
    }

    [Fact]
    public void Signer_names_from_a_module_are_escaped_in_the_load_table()
    {
        var response = ProtocolSamples.Loaded();
        response.Verification.Module.Signature.Signer = "CN=Evil\u001b[1A\nSigner: CN=Trusted";

        var text = TableOutput.Load(response);

        Assert.Matches(@"(?m)^Signer: +CN=Evil\\x1b\[1A\\x0aSigner: CN=Trusted \(key id 1a2b3c4d\)$", text);
        Assert.DoesNotContain(text, c => char.IsControl(c) && c != '\n');
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("tab\there", @"tab\x09here")]
    [InlineData("bell\u0007", @"bell\x07")]
    [InlineData("del\u007f", @"del\x7f")]
    [InlineData("csi\u009b", @"csi\x9b")]
    [InlineData("rlo\u202eevil", @"rlo\u202eevil")]
    [InlineData("ls\u2028", @"ls\u2028")]
    [InlineData("caf\u00e9 \u65e5\u672c", "caf\u00e9 \u65e5\u672c")]
    [InlineData("back\\slash", "back\\slash")]
    [InlineData("", "")]
    public void Terminal_text_escapes_what_a_terminal_acts_on_and_keeps_printable_text(string value, string expected) =>
        Assert.Equal(expected, TerminalText.Escape(value));

    [Fact]
    public void Terminal_text_keeps_characters_outside_the_basic_plane()
    {
        const string emoji = "\U0001F600";
        Assert.Equal(emoji, TerminalText.Escape(emoji));
    }

    private static Event StallEvent() => new()
    {
        Sequence = 12,
        Time = Timestamp.FromDateTime(ProtocolSamples.Snapshot),
        Kind = EventKind.TransitionStalled,
        Patch = "lpdemo_v3",
        Message = "lpdemo-sleep (812) sleeps in lpdemo_sleeper_wait()",
        BlockingTasks = 1,
        Seconds = 45.2,
    };

    private static JsonDocument Parse(string text) => JsonDocument.Parse(text);

    private static string[] Names(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];
}

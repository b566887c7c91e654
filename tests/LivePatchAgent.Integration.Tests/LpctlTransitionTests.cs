using System.Collections.Concurrent;
using System.Text.Json;
using Google.Protobuf;
using LivePatchAgent.Linux.Native;
using LivePatchAgent.Protocol.V1;
using Microsoft.Extensions.DependencyInjection;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// lpctl blocking, revert, force and kick, and forced modules and stalls in list, info, status and watch, as a
/// process against the real daemon on a fixture tree. The daemon's kernel is the <see cref="SimulatedKernel"/>
/// and its signals go to a recording <see cref="ITaskSignaller"/>: the fixture's pids are made up, and nothing
/// here may stop a real process that happens to have one of them.
/// </summary>
public sealed class LpctlTransitionTests : IDisposable
{
    private const string BootId = "3f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f";

    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(20);

    private static readonly string[] SleeperStack =
    [
        "[<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]",
        "[<0>] full_proxy_read+0x5c/0x90",
        "[<0>] vfs_read+0xa5/0x310",
    ];

    private readonly SysfsFixture _fixture = SysfsFixture.Create(ModuleImage.Release);
    private readonly SimulatedKernel _kernel;
    private readonly RecordingSignaller _signaller = new();
    private readonly DirectoryInfo _files = Directory.CreateTempSubdirectory("lpctl-tr-");
    private ulong _taint;

    public LpctlTransitionTests()
    {
        _kernel = new SimulatedKernel(_fixture);
        TrustedCertificateDir.WriteTestCertificate(TrustedDir);
    }

    private string TrustedDir => Path.Combine(_files.FullName, "trusted.d");

    public void Dispose()
    {
        _kernel.Dispose();
        _fixture.Dispose();
        _files.Delete(recursive: true);
    }

    [Fact]
    public async Task Blocking_names_the_thread_and_the_patched_function_on_its_stack_that_holds_it()
    {
        AddSleeperTransition();
        await using var daemon = await StartAsync();
        // The daemon serves once its first snapshot is in; wait until its view has the transition (seen once in a
        // full CI run: "no transition is running" right after start, under heavy load).
        await DaemonHarness.WaitForAsync(async () => (await daemon.Client.GetStatusAsync(new GetStatusRequest())).Transition is not null);

        var table = await Lpctl(daemon, "blocking");
        var json = await Lpctl(daemon, "-o", "json", "blocking");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Equal("", table.Error);
        var lines = table.Out.Split('\n');
        Assert.Matches(@"^lpdemo_sleeper_v1 patching for \S+: 1 blocking thread \(\d+ threads scanned\)$", lines[0]);
        Assert.Matches("^PID +TID +COMM +UNIT +HELD-BY$", lines[2]);
        Assert.Matches("^4242 +4243 +lpdemo-sleep +lpdemo-sleeper.service +lpdemo_sleeper_wait \\(lpdemo_sleeper\\)$", lines[3]);
        Assert.Contains("\n    sleeping in lpdemo_sleeper_wait()", table.Out, StringComparison.Ordinal);
        Assert.Contains("\n    cmdline: /usr/local/bin/lpdemo-sleep --forever\n", table.Out, StringComparison.Ordinal);
        Assert.Contains("\n    stack:\n      [<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]\n      [<0>] full_proxy_read+0x5c/0x90\n", table.Out, StringComparison.Ordinal);
        // The thread that already switched is not a blocker.
        Assert.DoesNotContain("switched", table.Out, StringComparison.Ordinal);

        Assert.True(json.ExitCode == 0, json.ToString());
        using var document = JsonDocument.Parse(json.Out);
        var root = document.RootElement;
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("lpdemo_sleeper_v1", root.GetProperty("patch").GetString());
        Assert.True(root.GetProperty("patching").GetBoolean());
        Assert.True(root.GetProperty("elapsedSeconds").GetDouble() >= 0);
        Assert.True(root.GetProperty("threadsScanned").GetInt32() >= 2);
        var task = root.GetProperty("tasks").EnumerateArray().Single();
        Assert.Equal(4242, task.GetProperty("pid").GetInt32());
        Assert.Equal(4243, task.GetProperty("tid").GetInt32());
        Assert.Equal("lpdemo-sleep", task.GetProperty("comm").GetString());
        Assert.Equal("/usr/local/bin/lpdemo-sleep --forever", task.GetProperty("cmdline").GetString());
        Assert.False(task.GetProperty("kernelThread").GetBoolean());
        Assert.Equal("lpdemo-sleeper.service", task.GetProperty("unit").GetString());
        var heldBy = task.GetProperty("heldBy");
        Assert.Equal("lpdemo_sleeper_wait", heldBy.GetProperty("function").GetString());
        Assert.Equal("lpdemo_sleeper", heldBy.GetProperty("object").GetString());
        Assert.Equal(SleeperStack[0], heldBy.GetProperty("frame").GetString());
        Assert.Equal(SleeperStack, task.GetProperty("stack").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(JsonValueKind.Null, task.GetProperty("stackProblem").ValueKind);
    }

    [Fact]
    public async Task Blocking_with_no_stacks_lists_the_threads_without_stacks()
    {
        AddSleeperTransition();
        await using var daemon = await StartAsync();

        var run = await Lpctl(daemon, "-o", "json", "blocking", "--no-stacks");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var document = JsonDocument.Parse(run.Out);
        var task = document.RootElement.GetProperty("tasks").EnumerateArray().Single();
        Assert.Equal(4242, task.GetProperty("pid").GetInt32());
        Assert.Equal(0, task.GetProperty("stack").GetArrayLength());
        // Without the stack there is nothing to match the patch's functions against.
        Assert.Equal(JsonValueKind.Null, task.GetProperty("heldBy").ValueKind);
    }

    [Fact]
    public async Task Blocking_of_a_patch_that_is_not_the_one_in_transition_exits_1_with_no_transition()
    {
        AddSleeperTransition();
        await using var daemon = await StartAsync();

        var run = await Lpctl(daemon, "-o", "json", "blocking", "lpdemo_other");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal("no-transition", run.JsonErrorReason());
        Assert.Matches(@"^lpctl: .*lpdemo_sleeper_v1.* \(no-transition\)\n", run.Error);
    }

    [Fact]
    public async Task Blocking_without_a_transition_says_so_and_exits_0()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await StartAsync();

        var table = await Lpctl(daemon, "blocking");
        var json = await Lpctl(daemon, "-o", "json", "blocking");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Equal("no transition is running\n", table.Out);
        Assert.Equal("", table.Error);
        Assert.True(json.ExitCode == 0, json.ToString());
        using var document = JsonDocument.Parse(json.Out);
        var root = document.RootElement;
        Assert.Equal(JsonValueKind.Null, root.GetProperty("patch").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("patching").ValueKind);
        Assert.Equal(0, root.GetProperty("tasks").GetArrayLength());
        Assert.Equal("no transition is running", root.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Blocking_with_no_thread_in_proc_prints_the_daemons_explanation()
    {
        _fixture.AddPatch("lpdemo_v3", transition: true).Object("vmlinux").Function("cmdline_proc_show");
        _fixture.AddTask(1, 1, "init", 1);
        await using var daemon = await StartAsync();

        var run = await Lpctl(daemon, "blocking");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Out.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^lpdemo_v3 patching for \S+: no blocking thread found \(1 thread scanned\)$", lines[0]);
        Assert.Contains("idle tasks", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Blocking_escapes_a_comm_and_cmdline_that_carry_terminal_controls()
    {
        _fixture.AddPatch("lpdemo_sleeper_v1", transition: true).Object("lpdemo_sleeper").Function("lpdemo_sleeper_wait");
        _fixture.AddTask(4242, 4242, "x\u001b[2Jy", 0, SleeperStack, cmdline: "evil\u001b]0;title\u0007");
        await using var daemon = await StartAsync();

        var run = await Lpctl(daemon, "blocking");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.DoesNotContain(run.Out, c => char.IsControl(c) && c != '\n');
        Assert.Contains(@"x\x1b[2Jy", run.Out, StringComparison.Ordinal);
        Assert.Contains(@"cmdline: evil\x1b]0;title\x07", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Force_without_yes_exits_1_without_contacting_the_daemon()
    {
        // Nothing listens here: a call to the daemon would exit 3.
        var socket = Path.Combine(_files.FullName, "none.sock");

        var table = await LpctlProcess.RunAsync("--socket", socket, "force", "lpdemo_v3");
        var json = await LpctlProcess.RunAsync("--socket", socket, "-o", "json", "force", "lpdemo_v3");

        Assert.True(table.ExitCode == 1, table.ToString());
        Assert.Equal("", table.Out);
        Assert.StartsWith("lpctl: refusing to force lpdemo_v3 without --yes: ", table.Error, StringComparison.Ordinal);
        Assert.Contains("can never be unloaded until reboot\nhint: ", table.Error, StringComparison.Ordinal);
        Assert.Contains("docs/operations.md", table.Error, StringComparison.Ordinal);
        Assert.True(json.ExitCode == 1, json.ToString());
        Assert.Contains(" (confirmation-required)\n", json.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("revert", null)]
    [InlineData("force", "--yes")]
    [InlineData("kick", null)]
    public async Task Revert_force_and_kick_of_a_patch_not_in_transition_exit_1_with_no_transition(string command, string? option)
    {
        _fixture.AddPatch("settled").Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await StartAsync();
        string[] options = option is null ? [] : [option];

        var table = await Lpctl(daemon, [command, "settled", .. options]);
        var json = await Lpctl(daemon, ["-o", "json", command, "settled", .. options]);

        Assert.True(table.ExitCode == 1, table.ToString());
        Assert.Equal("", table.Out);
        Assert.StartsWith("lpctl: ", table.Error, StringComparison.Ordinal);
        Assert.Contains("\nhint: Check `lpctl status`", table.Error, StringComparison.Ordinal);
        Assert.True(json.ExitCode == 1, json.ToString());
        Assert.Equal("no-transition", json.JsonErrorReason());
        Assert.Matches(@"^lpctl: .+ \(no-transition\)\n", json.Error);
        Assert.Empty(_signaller.Kicked);
    }

    [Fact]
    public async Task Revert_of_a_stalled_load_reverses_it_and_removes_the_module()
    {
        await using var daemon = await StartWithStuckLoadAsync();

        var run = await Lpctl(daemon, "-o", "json", "revert", "lp_unit", "--timeout", "20");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("", run.Error);
        using var document = JsonDocument.Parse(run.Out);
        var root = document.RootElement;
        Assert.Equal(["schemaVersion", "name", "completed", "moduleRemoved", "message", "operation", "result", "error"], Names(root));
        Assert.Equal("revert", root.GetProperty("operation").GetProperty("kind").GetString());
        Assert.Equal("lp_unit", root.GetProperty("name").GetString());
        Assert.True(root.GetProperty("completed").GetBoolean());
        Assert.True(root.GetProperty("moduleRemoved").GetBoolean());
        Assert.False(Directory.Exists(Path.Combine(_fixture.Root, "sys/module/lp_unit")));
        Assert.Equal("no transition is running\n", (await Lpctl(daemon, "blocking")).Out);
    }

    [Fact]
    public async Task Revert_table_is_one_line_saying_what_was_reversed()
    {
        await using var daemon = await StartWithStuckLoadAsync();

        var run = await Lpctl(daemon, "revert", "lp_unit");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches(@"^completed: reverted lp_unit: .*module removed \(\d+\.\ds\)\n$", run.Out);
    }

    [Fact]
    public async Task Force_of_a_stalled_unload_pins_the_module_and_list_status_and_unload_say_so()
    {
        await using var daemon = await StartAsync();
        await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = Module() });
        _kernel.Stuck["lp_unit"] = false; // the unpatching transition hangs
        var unload = await Lpctl(daemon, "unload", "lp_unit", "--timeout", "1");
        Assert.True(unload.ExitCode == 1, unload.ToString());

        var force = await Lpctl(daemon, "force", "lp_unit", "--yes");

        Assert.True(force.ExitCode == 0, force.ToString());
        Assert.Matches(@"^pinned until reboot: lp_unit\ncompleted: forced .*lp_unit.* \(\d+\.\ds\)\n$", force.Out);

        // The unpatched module stays loaded as a leftover the kernel will not let go of.
        await DaemonHarness.WaitForAsync(async () => (await Lpctl(daemon, "list")).Out.Contains("leftover", StringComparison.Ordinal));
        var list = await Lpctl(daemon, "list");
        Assert.Matches("(?m)^NAME +REFCNT +TAINT +SRCVERSION +INITSTATE +NOTE$", list.Out);
        Assert.Matches(@"(?m)^lp_unit +.* +forced \(reboot to unload\)$", list.Out);
        var listJson = await Lpctl(daemon, "-o", "json", "list");
        using (var document = JsonDocument.Parse(listJson.Out))
        {
            Assert.True(document.RootElement.GetProperty("leftovers").EnumerateArray().Single(l => l.GetProperty("name").GetString() == "lp_unit").GetProperty("forced").GetBoolean());
        }

        var status = await Lpctl(daemon, "status");
        Assert.Matches(@"(?m)^Forced modules: +lp_unit \(reboot to unload\)$", status.Out);

        var again = await Lpctl(daemon, "-o", "json", "unload", "lp_unit");
        Assert.True(again.ExitCode == 1, again.ToString());
        Assert.Matches(@"^lpctl: .+ \(forced-module-pinned\)\n", again.Error);
    }

    [Fact]
    public async Task Force_json_names_the_pinned_modules()
    {
        await using var daemon = await StartAsync();
        await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = Module() });
        _kernel.Stuck["lp_unit"] = false;
        await daemon.Client.UnloadPatchAsync(new UnloadPatchRequest { Name = "lp_unit", Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) })
            .ResponseAsync.ContinueWith(_ => { }, TaskScheduler.Default); // times out: the transition hangs

        var run = await Lpctl(daemon, "-o", "json", "force", "lp_unit", "--yes");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var document = JsonDocument.Parse(run.Out);
        var root = document.RootElement;
        Assert.Equal(["schemaVersion", "name", "pinned", "completed", "message", "operation", "result", "error"], Names(root));
        Assert.Equal(["lp_unit"], root.GetProperty("result").GetProperty("pinned").EnumerateArray().Select(p => p.GetString()));
        Assert.Equal(["lp_unit"], root.GetProperty("pinned").EnumerateArray().Select(p => p.GetString()));
        Assert.True(root.GetProperty("completed").GetBoolean());
    }

    [Fact]
    public async Task Kick_prints_the_kicked_processes_and_the_kernel_threads_it_left_alone()
    {
        await using var daemon = await StartWithStuckLoadAsync();

        var table = await Lpctl(daemon, "kick", "lp_unit");
        var json = await Lpctl(daemon, "-o", "json", "kick", "lp_unit");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Matches("(?m)^Method: +SIGSTOP then SIGCONT to each blocked user process$", table.Out);
        Assert.Matches("(?m)^Kicked: +4242$", table.Out);
        Assert.Matches(@"(?m)^Kernel threads: +1 skipped kernel thread \(signals cannot kick them\)$", table.Out);
        Assert.True(json.ExitCode == 0, json.ToString());
        using var document = JsonDocument.Parse(json.Out);
        var root = document.RootElement;
        Assert.Equal(["schemaVersion", "name", "kickedPids", "kernelThreadsSkipped", "method", "message", "operation", "result", "error"], Names(root));
        Assert.Equal([4242], root.GetProperty("kickedPids").EnumerateArray().Select(p => p.GetInt32()));
        Assert.Equal(1, root.GetProperty("kernelThreadsSkipped").GetInt32());
        Assert.Equal("sigstop-sigcont", root.GetProperty("method").GetString());
        // Only the recording signaller was asked, once per kick, and never for the kernel thread.
        Assert.Equal([4242, 4242], _signaller.Kicked);
    }

    [Fact]
    public async Task List_info_and_status_show_a_pin_recorded_in_this_boot()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        _fixture.AddPatch("lpdemo_old").Object("vmlinux").Function("cmdline_proc_show");
        _fixture.RemovePatch("lpdemo_old"); // replaced: its module stays loaded
        var directory = Path.Combine(Path.GetTempPath(), "lpd-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path.Combine(directory, "state"));
        await File.WriteAllTextAsync(Path.Combine(directory, "state", "pins.json"), $$"""
            [
              { "module": "lpdemo_v1", "bootId": "{{BootId}}", "forcedAt": "2026-11-28T12:00:00+00:00", "forcedPatch": "lpdemo_v2", "caller": "uid 0", "reason": "patching transition", "blockingSummary": "reader (pid 4242) sleeping in cmdline_proc_show()" },
              { "module": "lpdemo_old", "bootId": "{{BootId}}", "forcedAt": "2026-11-28T12:00:00+00:00", "forcedPatch": "lpdemo_old", "caller": "uid 0", "reason": "unpatching transition", "blockingSummary": "" }
            ]
            """);
        await using var daemon = await StartAsync(directory);

        var list = await Lpctl(daemon, "list");
        var info = await Lpctl(daemon, "info", "lpdemo_v1");
        var status = await Lpctl(daemon, "status");
        var listJson = await Lpctl(daemon, "-o", "json", "list");
        var statusJson = await Lpctl(daemon, "-o", "json", "status");

        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Matches(@"(?m)^lpdemo_v1 +enabled, forced \(reboot to unload\) +1 +1 ", list.Out);
        Assert.Matches(@"(?m)^lpdemo_old +.+ +forced \(reboot to unload\)$", list.Out);
        Assert.Matches(@"(?m)^State: +enabled, forced \(reboot to unload\)$", info.Out);
        Assert.Matches(@"(?m)^Forced modules: +lpdemo_old, lpdemo_v1 \(reboot to unload\)$", status.Out);
        using var listDocument = JsonDocument.Parse(listJson.Out);
        Assert.True(listDocument.RootElement.GetProperty("patches")[0].GetProperty("forced").GetBoolean());
        Assert.True(listDocument.RootElement.GetProperty("leftovers")[0].GetProperty("forced").GetBoolean());
        using var statusDocument = JsonDocument.Parse(statusJson.Out);
        Assert.Equal(["lpdemo_old", "lpdemo_v1"], statusDocument.RootElement.GetProperty("forcedModules").EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public async Task A_stall_shows_in_watch_and_status_with_its_blocking_tasks()
    {
        await using var daemon = await StartAsync(null,
            "Transitions:StallAfter=00:00:01", "Transitions:ResolveAfter=00:10:00", "Transitions:OnStall=None");
        using var table = LpctlProcess.Start("--socket", daemon.SocketPath, "watch");
        using var json = LpctlProcess.Start("--socket", daemon.SocketPath, "-o", "json", "watch");
        await WaitUntilSubscribedAsync(table, json);

        await LoadStuckAsync(daemon);
        var line = await table.ReadUntilAsync(l => l.Contains("transition-stalled", StringComparison.Ordinal), EventTimeout);
        var jsonLine = await json.ReadUntilAsync(l => l.Contains("\"kind\":\"transition-stalled\"", StringComparison.Ordinal), EventTimeout);

        Assert.Matches(@"^\d\d:\d\d:\d\d\.\d{3}  transition-stalled    lp_unit {9}  \d+ s, 2 blocking tasks: .*reader", line);
        using (var document = JsonDocument.Parse(jsonLine))
        {
            Assert.Equal(2, document.RootElement.GetProperty("blockingTasks").GetInt32());
            Assert.True(document.RootElement.GetProperty("seconds").GetDouble() >= 1);
        }

        await DaemonHarness.WaitForAsync(async () => (await daemon.Client.GetStatusAsync(new GetStatusRequest())).State == AgentState.Stalled);
        var status = await Lpctl(daemon, "status");
        var statusJson = await Lpctl(daemon, "-o", "json", "status");
        Assert.Matches("(?m)^State: +stalled ", status.Out);
        Assert.Matches(@"(?m)^Blocking: +2 tasks at the last scan; run `lpctl blocking` to see which and why$", status.Out);
        using var statusDocument = JsonDocument.Parse(statusJson.Out);
        Assert.Equal(2, statusDocument.RootElement.GetProperty("blockingTasks").GetInt32());
    }

    private void AddSleeperTransition()
    {
        _fixture.AddPatch("lpdemo_sleeper_v1", transition: true).Object("lpdemo_sleeper").Function("lpdemo_sleeper_wait");
        _fixture.AddTask(4242, 4242, "lpdemo-sleep", 1, ["[<0>] do_nanosleep+0x1/0x2"], cgroup: "0::/system.slice/lpdemo-sleeper.service", cmdline: "/usr/local/bin/lpdemo-sleep --forever");
        _fixture.AddTask(4242, 4243, "lpdemo-sleep", 0, SleeperStack);
        _fixture.AddTask(4300, 4300, "switched", 1, ["[<0>] do_nanosleep+0x1/0x2"]);
    }

    private Task<DaemonHarness> StartAsync(string? directory = null, params string[] settings) =>
        DaemonHarness.StartAsync(
            _fixture,
            new DaemonHarnessOptions
            {
                Loader = _kernel,
                // Never kill(2): the fixture's pids are made up, and a real process may have one of them.
                Services = services => services.AddSingleton<ITaskSignaller>(_signaller),
                Directory = directory,
            },
            [TrustedCertificateDir.SettingFor(TrustedDir), .. settings]);

    /// <summary>Loads lp_unit, whose patching transition the simulated kernel holds, and adds its blockers to /proc.</summary>
    private async Task<DaemonHarness> StartWithStuckLoadAsync()
    {
        var daemon = await StartAsync();
        await LoadStuckAsync(daemon);
        return daemon;
    }

    private async Task LoadStuckAsync(DaemonHarness daemon)
    {
        _kernel.Stuck["lp_unit"] = true;
        // The simulated kernel replaces cmdline_proc_show in vmlinux.
        _fixture.AddTask(4242, 4242, "reader", 0, ["[<0>] cmdline_proc_show+0x72/0xf0", "[<0>] seq_read_iter+0x11d/0x4b0"],
            cgroup: "0::/system.slice/reader.service", cmdline: "cat /proc/cmdline");
        _fixture.AddTask(4243, 4243, "kworker/1:0", 0, ["[<0>] cmdline_proc_show+0x1/0x2"], cgroup: "0::/", kthread: true);
        await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = Module(), NoWait = true });
    }

    /// <summary>Changes the taint mask until every watch has printed the resulting event: from then on they listen.</summary>
    private async Task WaitUntilSubscribedAsync(params LpctlWatch[] watches)
    {
        foreach (var watch in watches)
        {
            string? line = null;
            for (var attempt = 0; line is null && attempt < 100; attempt++)
            {
                _fixture.WithTaint(++_taint);
                line = await watch.ReadLineAsync(TimeSpan.FromMilliseconds(300));
            }

            Assert.True(line is not null, $"lpctl watch did not subscribe: {watch.Error}");
        }
    }

    private static ByteString Module(string name = "lp_unit")
    {
        var image = new ModuleImage().With("name", name);
        image.StructModuleName = name;
        return ByteString.CopyFrom(TestSigningKey.Trusted.Sign(image.Build()));
    }

    private static Task<LpctlRun> Lpctl(DaemonHarness daemon, params string[] args) =>
        LpctlProcess.RunAsync(["--socket", daemon.SocketPath, .. args]);

    private static string[] Names(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    private sealed class RecordingSignaller : ITaskSignaller
    {
        private readonly ConcurrentQueue<int> _kicked = new();

        public IReadOnlyList<int> Kicked => [.. _kicked];

        public int StopAndContinue(int pid)
        {
            _kicked.Enqueue(pid);
            return 0;
        }
    }
}

using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Transitions;
using LivePatchAgent.Linux;
using LivePatchAgent.Linux.Procfs;

namespace LivePatchAgent.Unit.Tests.Linux.Procfs;

public sealed class BlockingTaskScannerTests : IDisposable
{
    private static readonly string[] SleeperStack =
    [
        "[<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]",
        "[<0>] lpdemo_sleep_read+0x69/0xc6 [lpdemo_sleeper]",
        "[<0>] proc_reg_read+0x56/0xa0",
        "[<0>] vfs_read+0xa5/0x310",
        "[<0>] ksys_read+0x6b/0xf0",
    ];

    private readonly SysfsFixture _fixture = SysfsFixture.Create();

    public void Dispose() => _fixture.Dispose();

    private static LivePatch V3 => new()
    {
        Name = "lpdemo_v3",
        Enabled = true,
        Transition = true,
        Objects = [new PatchObject { Name = "lpdemo_sleeper", Functions = [new PatchFunction("lpdemo_sleeper_wait", 1)] }],
    };

    private BlockingScan Scan(bool patching = true, bool stacks = true) =>
        new BlockingTaskScanner(new HostPaths(_fixture.Root)).Scan(patching, V3, stacks);

    [Fact]
    public void Finds_the_thread_that_has_not_switched_and_explains_it()
    {
        _fixture.AddTask(757, 757, "cat", 0, SleeperStack, cgroup: "0::/system.slice/backup.service", cmdline: "cat /proc/lpdemo_sleep");
        _fixture.AddTask(1, 1, "init", 1);
        _fixture.AddTask(800, 800, "idle-one", -1);

        var scan = Scan();

        var task = Assert.Single(scan.Tasks);
        Assert.Equal(3, scan.ThreadsScanned);
        Assert.Equal((757, 757, "cat"), (task.Pid, task.Tid, task.Comm));
        Assert.Equal("cat /proc/lpdemo_sleep", task.Cmdline);
        Assert.Equal("backup.service", task.Unit);
        Assert.False(task.IsKernelThread);
        Assert.Equal(5, task.Stack.Length);
        Assert.Equal(new StackMatch("lpdemo_sleeper_wait", "lpdemo_sleeper", SleeperStack[0], false), task.HeldBy);
    }

    [Fact]
    public void Unpatching_blocks_threads_still_in_the_patched_state()
    {
        _fixture.AddTask(10, 10, "patched", 1);
        _fixture.AddTask(11, 11, "unpatched", 0);

        Assert.Equal("patched", Assert.Single(Scan(patching: false).Tasks).Comm);
    }

    [Fact]
    public void Reports_kernel_threads_and_every_thread_of_a_process()
    {
        _fixture.AddTask(2, 2, "kthreadd", 1);
        _fixture.AddTask(90, 90, "kworker/0:1", 0, kthread: true, cgroup: "0::/");
        _fixture.AddTask(300, 300, "java", 1);
        _fixture.AddTask(300, 301, "GC Thread", 0);
        _fixture.AddTask(300, 302, "worker", 0);

        var tasks = Scan(stacks: false).Tasks;

        Assert.Equal([(90, 90), (300, 301), (300, 302)], tasks.Select(t => (t.Pid, t.Tid)).Order());
        Assert.True(tasks.Single(t => t.Pid == 90).IsKernelThread);
        Assert.Null(tasks.Single(t => t.Pid == 90).Unit);
        Assert.Equal("GC Thread", tasks.Single(t => t.Tid == 301).Comm);
        Assert.All(tasks, t => Assert.Empty(t.Stack));
    }

    [Fact]
    public void A_user_session_scope_is_the_unit()
    {
        _fixture.AddTask(42, 42, "bash", 0, cgroup: "0::/user.slice/user-1000.slice/session-3.scope");

        Assert.Equal("session-3.scope", Assert.Single(Scan().Tasks).Unit);
    }

    [Fact]
    public void A_thread_with_no_patched_function_on_its_stack_is_reported_without_a_holder()
    {
        _fixture.AddTask(5, 5, "busy", 0, ["[<0>] do_nanosleep+0x5f/0x120", "[<0>] hrtimer_nanosleep+0x8e/0x130"]);

        var task = Assert.Single(Scan().Tasks);

        Assert.Null(task.HeldBy);
        Assert.Equal(2, task.Stack.Length);
    }

    [Fact]
    public void Garbage_and_missing_files_are_skipped()
    {
        _fixture.AddTask(6, 6, "weird", 0);
        _fixture.Write("proc/6/task/6/patch_state", "banana\n");
        _fixture.Write("proc/7/task/7/comm", "no-state\n");
        Directory.CreateDirectory(Path.Combine(_fixture.Root, "proc/self/task/1"));
        _fixture.AddTask(8, 8, "real", 0);

        Assert.Equal("real", Assert.Single(Scan().Tasks).Comm);
    }

    [Fact]
    public async Task Threads_that_vanish_during_the_scan_never_break_it()
    {
        _fixture.AddTask(100, 100, "steady", 0, SleeperStack);
        using var stop = new CancellationTokenSource();
        var churn = Task.Run(() =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                _fixture.AddTask(200, 200 + (i % 5), "flicker", 0, SleeperStack);
                try
                {
                    Directory.Delete(Path.Combine(_fixture.Root, "proc/200"), recursive: true);
                }
                catch (IOException)
                {
                }
            }
        });

        for (var i = 0; i < 200; i++)
        {
            Assert.Contains(Scan().Tasks, t => t.Pid == 100 && t.HeldBy is not null);
        }

        await stop.CancelAsync();
        await churn;
    }

    [Fact]
    public void Scans_thousands_of_threads_and_finds_the_one_that_blocks()
    {
        // Only patch_state per thread (plus the leader's comm), and 2,000 threads: the 10,000-thread scale is
        // measured in bench/, not asserted here.
        for (var pid = 1000; pid < 1020; pid++)
        {
            File.WriteAllText(Directory.CreateDirectory(Path.Combine(_fixture.Root, $"proc/{pid}")).FullName + "/comm", "t\n");
            for (var tid = 0; tid < 100; tid++)
            {
                var dir = Directory.CreateDirectory(Path.Combine(_fixture.Root, $"proc/{pid}/task/{pid + (tid * 1000)}")).FullName;
                File.WriteAllText(Path.Combine(dir, "patch_state"), pid == 1010 && tid == 7 ? "0\n" : "1\n");
            }
        }

        var scan = Scan(stacks: false);

        Assert.Equal(2_000, scan.ThreadsScanned);
        Assert.Equal((1010, 8010), (Assert.Single(scan.Tasks).Pid, scan.Tasks[0].Tid));
    }
}

public sealed class StackMatcherTests
{
    private static LivePatch Patch(string name, params (string Object, string Function)[] functions) => new()
    {
        Name = name,
        Enabled = true,
        Transition = true,
        Objects = [.. functions.GroupBy(f => f.Object).Select(g => new PatchObject { Name = g.Key, Functions = [.. g.Select(f => new PatchFunction(f.Function, 1))] })],
    };

    [Theory]
    [InlineData("[<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]", "lpdemo_sleeper_wait", "lpdemo_sleeper")]
    [InlineData("[<ffffffffc0a1b072>] vfs_read+0xa5/0x310", "vfs_read", null)]
    [InlineData("cmdline_proc_show+0x1/0x2", "cmdline_proc_show", null)]
    public void Parses_frames(string line, string function, string? module) =>
        Assert.Equal((function, module), StackMatcher.ParseFrame(line));

    [Fact]
    public void Matches_a_vmlinux_function_only_in_vmlinux()
    {
        var patch = Patch("lp", ("vmlinux", "cmdline_proc_show"));

        Assert.NotNull(StackMatcher.Match(["[<0>] cmdline_proc_show+0x1/0x10", "[<0>] seq_read+0x1/0x2"], patch));
        Assert.Null(StackMatcher.Match(["[<0>] cmdline_proc_show+0x1/0x10 [some_module]"], patch));
    }

    [Fact]
    public void The_innermost_match_wins_and_replacement_frames_are_recognised()
    {
        var patch = Patch("lpdemo_v3", ("lpdemo_sleeper", "lpdemo_sleeper_wait"));

        var match = StackMatcher.Match(["[<0>] lpdemo_v3_sleeper_wait+0x10/0x20 [lpdemo_v3]", "[<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]"], patch);

        Assert.NotNull(match);
        Assert.True(match.IsReplacement);
        Assert.Equal("lpdemo_v3_sleeper_wait", match.Function);
        Assert.Contains("replacement", match.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Junk_lines_are_ignored() =>
        Assert.Null(StackMatcher.Match(["", "[<0>]", "garbage"], Patch("p", ("vmlinux", "f"))));
}

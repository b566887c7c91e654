using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using LivePatchAgent.Linux.Native;
using LivePatchAgent.Protocol.V1;
using Microsoft.Extensions.DependencyInjection;

namespace LivePatchAgent.Integration.Tests;

/// <summary>Blocking-task diagnosis, revert, force with pins, kick and the stall ladder, against a simulated kernel.</summary>
public sealed class DaemonTransitionTests : IDisposable
{
    private static readonly string[] SleeperStack =
    [
        "[<0>] cmdline_proc_show+0x72/0xf0",
        "[<0>] seq_read_iter+0x11d/0x4b0",
        "[<0>] vfs_read+0xa5/0x310",
    ];

    private readonly SysfsFixture _fixture = SysfsFixture.Create(ModuleImage.Release);
    private readonly SimulatedKernel _kernel;
    private readonly RecordingSignaller _signaller = new();
    private readonly TrustedCertificateDir _trusted = new();

    public DaemonTransitionTests()
    {
        _kernel = new SimulatedKernel(_fixture);
    }

    public void Dispose()
    {
        _kernel.Dispose();
        _fixture.Dispose();
        _trusted.Dispose();
    }

    private Task<DaemonHarness> StartAsync(params string[] settings) =>
        DaemonHarness.StartAsync(
            _fixture,
            new DaemonHarnessOptions { Loader = _kernel, Services = s => s.AddSingleton<ITaskSignaller>(_signaller) },
            [_trusted.Setting, .. settings]);

    private static ByteString Module(string name = "lp_unit")
    {
        var image = new ModuleImage().With("name", name);
        image.StructModuleName = name;
        return ByteString.CopyFrom(TestSigningKey.Trusted.Sign(image.Build()));
    }

    private static string? Reason(RpcException e) => e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason;

    private async Task<DaemonHarness> StartWithStuckLoadAsync(params string[] settings)
    {
        _kernel.Stuck["lp_unit"] = true;
        var daemon = await StartAsync(settings);
        await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = Module(), NoWait = true });
        _fixture.AddTask(4242, 4242, "reader", 0, SleeperStack, cgroup: "0::/system.slice/reader.service", cmdline: "cat /proc/cmdline");
        _fixture.AddTask(4243, 4243, "kworker/1:0", 0, ["[<0>] cmdline_proc_show+0x1/0x2"], cgroup: "0::/", kthread: true);
        _fixture.AddTask(1, 1, "init", 1);
        return daemon;
    }

    [Fact]
    public async Task Blocking_names_the_task_and_the_patched_function_that_holds_it()
    {
        await using var daemon = await StartWithStuckLoadAsync();

        var blocking = await daemon.Client.GetBlockingTasksAsync(new GetBlockingTasksRequest { IncludeStacks = true });

        Assert.Equal("lp_unit", blocking.Patch);
        Assert.True(blocking.Patching);
        var reader = blocking.Tasks.Single(t => t.Pid == 4242);
        Assert.Equal("cmdline_proc_show", reader.HeldByFunction);
        Assert.Equal("vmlinux", reader.HeldByObject);
        Assert.Equal("reader.service", reader.Unit);
        Assert.Equal(3, reader.Stack.Count);
        Assert.True(blocking.Tasks.Single(t => t.Pid == 4243).KernelThread);
    }

    [Fact]
    public async Task Blocking_without_a_transition_says_so()
    {
        await using var daemon = await StartAsync();

        var blocking = await daemon.Client.GetBlockingTasksAsync(new GetBlockingTasksRequest());

        Assert.Empty(blocking.Tasks);
        Assert.Equal("no transition is running", blocking.Message);
    }

    [Fact]
    public async Task Revert_of_a_stalled_load_reverses_it_and_removes_the_module()
    {
        await using var daemon = await StartWithStuckLoadAsync();

        var result = await daemon.Client.RevertTransitionAsync(new RevertTransitionRequest { Name = "lp_unit" });

        Assert.True(result.Completed, result.Message);
        Assert.True(result.ModuleRemoved);
        Assert.False(Directory.Exists(Path.Combine(_fixture.Root, "sys/module/lp_unit")));
    }

    [Fact]
    public async Task Revert_acts_on_a_transition_that_a_waiting_load_is_waiting_for()
    {
        _kernel.Stuck["lp_unit"] = true;
        await using var daemon = await StartAsync();
        var load = daemon.Client.LoadPatchAsync(new LoadPatchRequest
        {
            Module = Module(),
            Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(60)),
        }).ResponseAsync;
        await DaemonHarness.WaitForAsync(() => Task.FromResult(Directory.Exists(Path.Combine(_fixture.LivepatchDir, "lp_unit"))));

        var revert = await daemon.Client.RevertTransitionAsync(new RevertTransitionRequest { Name = "lp_unit" }).ResponseAsync.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(revert.Completed, revert.Message);
        var loaded = await load.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Contains("reversed", loaded.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revert_force_and_kick_need_a_running_transition()
    {
        _fixture.AddPatch("settled").Function("f");
        await using var daemon = await StartAsync();

        foreach (var call in new Func<Task>[]
        {
            () => daemon.Client.RevertTransitionAsync(new RevertTransitionRequest { Name = "settled" }).ResponseAsync,
            () => daemon.Client.ForceTransitionAsync(new ForceTransitionRequest { Name = "settled", Confirm = true }).ResponseAsync,
            () => daemon.Client.KickTasksAsync(new KickTasksRequest { Name = "settled" }).ResponseAsync,
        })
        {
            Assert.Equal("no-transition", Reason(await Assert.ThrowsAsync<RpcException>(call)));
        }
    }

    [Fact]
    public async Task Force_needs_confirmation()
    {
        await using var daemon = await StartWithStuckLoadAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.ForceTransitionAsync(new ForceTransitionRequest { Name = "lp_unit" }).ResponseAsync);

        Assert.Equal("confirmation-required", Reason(e));
        Assert.Contains("can never be unloaded until reboot", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forced_unpatch_pins_the_module_and_unload_says_so()
    {
        await using var daemon = await StartAsync();
        await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = Module() });
        _kernel.Stuck["lp_unit"] = false; // the unpatching transition will hang
        var unload = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.UnloadPatchAsync(new UnloadPatchRequest
        {
            Name = "lp_unit",
            Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        }).ResponseAsync);
        Assert.Equal("transition-timeout", Reason(unload));

        var forced = await daemon.Client.ForceTransitionAsync(new ForceTransitionRequest { Name = "lp_unit", Confirm = true });

        Assert.Equal(["lp_unit"], forced.Pinned);
        Assert.True(forced.Completed, forced.Message);
        var status = await daemon.Client.GetStatusAsync(new GetStatusRequest());
        Assert.Equal(["lp_unit"], status.ForcedModules);
        var list = await daemon.Client.ListPatchesAsync(new ListPatchesRequest());
        Assert.True(list.Leftovers.Single(l => l.Name == "lp_unit").Forced);
        var refused = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.UnloadPatchAsync(new UnloadPatchRequest { Name = "lp_unit" }).ResponseAsync);
        Assert.Equal("forced-module-pinned", Reason(refused));
        Assert.Contains("pinned until reboot", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("\"bootId\": \"3f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f\"", await File.ReadAllTextAsync(Path.Combine(daemon.StateDir, "pins.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pins_from_an_earlier_boot_are_dropped_at_start()
    {
        var state = Path.Combine(Path.GetTempPath(), "lpd-pins-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(state, "state"));
        await File.WriteAllTextAsync(Path.Combine(state, "state", "pins.json"), """
            [
              { "module": "old_boot", "bootId": "another-boot", "forcedAt": "2026-11-27T10:00:00+00:00", "forcedPatch": "old_boot", "caller": "uid 0", "reason": "unpatching transition", "blockingSummary": "" },
              { "module": "this_boot", "bootId": "3f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f", "forcedAt": "2026-11-28T10:00:00+00:00", "forcedPatch": "this_boot", "caller": "uid 0", "reason": "unpatching transition", "blockingSummary": "" }
            ]
            """);
        await using var daemon = await DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { Loader = _kernel, Directory = state });

        var status = await daemon.Client.GetStatusAsync(new GetStatusRequest());

        Assert.Equal(["this_boot"], status.ForcedModules);
        Assert.DoesNotContain("old_boot", await File.ReadAllTextAsync(Path.Combine(state, "state", "pins.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kick_signals_blocked_user_processes_and_skips_kernel_threads()
    {
        await using var daemon = await StartWithStuckLoadAsync();

        var kick = await daemon.Client.KickTasksAsync(new KickTasksRequest { Name = "lp_unit" });

        Assert.Equal([4242], kick.KickedPids);
        Assert.Equal(1U, kick.KernelThreadsSkipped);
        Assert.Equal("sigstop-sigcont", kick.Method);
        Assert.Equal([4242], _signaller.Kicked);
    }

    [Fact]
    public async Task The_ladder_reports_a_stall_and_reverts_it_by_policy()
    {
        await using var daemon = await StartWithStuckLoadAsync("Transitions:StallAfter=00:00:01", "Transitions:ResolveAfter=00:00:02", "Transitions:OnStall=Revert");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = daemon.Client.WatchEvents(new WatchEventsRequest(), cancellationToken: cts.Token);

        var stalled = await NextAsync(watch, EventKind.TransitionStalled, cts.Token);
        var reverted = await NextAsync(watch, EventKind.TransitionReverted, cts.Token);
        await NextAsync(watch, EventKind.PatchRemoved, cts.Token);

        Assert.Equal("lp_unit", stalled.Patch);
        Assert.Equal(2U, stalled.BlockingTasks);
        Assert.True(stalled.Seconds >= 1);
        Assert.Contains("reader (pid 4242, reader.service) sleeping in cmdline_proc_show()", stalled.Message, StringComparison.Ordinal);
        Assert.Contains("livepatchd", reverted.Message, StringComparison.Ordinal);
        await DaemonHarness.WaitForAsync(() => Task.FromResult(!Directory.Exists(Path.Combine(_fixture.Root, "sys/module/lp_unit"))));
    }

    [Fact]
    public async Task With_policy_none_the_stall_is_reported_and_left_alone()
    {
        await using var daemon = await StartWithStuckLoadAsync("Transitions:StallAfter=00:00:01", "Transitions:ResolveAfter=00:00:02", "Transitions:OnStall=None");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = daemon.Client.WatchEvents(new WatchEventsRequest(), cancellationToken: cts.Token);

        await NextAsync(watch, EventKind.StallUnresolved, cts.Token);

        var status = await daemon.Client.GetStatusAsync(new GetStatusRequest());
        Assert.Equal(AgentState.Stalled, status.State);
        Assert.Equal(2U, status.BlockingTasks);
        Assert.Equal(PatchState.Stalled, (await daemon.Client.GetPatchAsync(new GetPatchRequest { Name = "lp_unit" })).State);
        Assert.True(Directory.Exists(Path.Combine(_fixture.LivepatchDir, "lp_unit")));
    }

    [Fact]
    public async Task A_stall_that_ends_on_its_own_is_reported_as_recovered()
    {
        await using var daemon = await StartWithStuckLoadAsync("Transitions:StallAfter=00:00:01", "Transitions:ResolveAfter=00:10:00");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = daemon.Client.WatchEvents(new WatchEventsRequest(), cancellationToken: cts.Token);
        await NextAsync(watch, EventKind.TransitionStalled, cts.Token);

        _kernel.Stuck.TryRemove("lp_unit", out _); // the kernel's fake signal got the task out

        var recovered = await NextAsync(watch, EventKind.TransitionRecovered, cts.Token);
        Assert.Equal("lp_unit", recovered.Patch);
        Assert.Equal(AgentState.Idle, (await daemon.Client.GetStatusAsync(new GetStatusRequest())).State);
    }

    [Fact]
    public async Task The_ladder_kicks_when_enabled()
    {
        await using var daemon = await StartWithStuckLoadAsync(
            "Transitions:StallAfter=00:00:01", "Transitions:KickBlockedTasks=true", "Transitions:KickAfter=00:00:02", "Transitions:ResolveAfter=00:10:00");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = daemon.Client.WatchEvents(new WatchEventsRequest(), cancellationToken: cts.Token);

        await NextAsync(watch, EventKind.TasksKicked, cts.Token);

        Assert.Equal([4242], _signaller.Kicked);
    }

    private static async Task<Event> NextAsync(AsyncServerStreamingCall<Event> call, EventKind kind, CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            if (call.ResponseStream.Current.Kind == kind)
            {
                return call.ResponseStream.Current;
            }
        }

        throw new InvalidOperationException($"the stream ended before {kind}");
    }

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

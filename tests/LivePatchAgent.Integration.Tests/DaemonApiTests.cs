using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Integration.Tests;

/// <summary>The real daemon on a temporary socket, called through the real gRPC client.</summary>
public sealed class DaemonApiTests : IDisposable
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Status_reports_the_fixture_kernel_and_patch_counts()
    {
        _fixture.WithTaint(45056).WithBuildId([0xde, 0xad, 0xbe, 0xef]).WithLockdown("none [integrity] confidentiality");
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        _fixture.AddPatch("lpdemo_v3", transition: true).Object("lpdemo_sleeper").Function("lpdemo_sleeper_wait");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var status = await daemon.Client.GetStatusAsync(new GetStatusRequest());

        Assert.Equal("6.1.0-56-amd64", status.Kernel.Release);
        Assert.True(status.Kernel.LivepatchSupported);
        Assert.Equal(45056UL, status.Kernel.TaintMask);
        Assert.Equal("OEK", status.Kernel.TaintFlags);
        Assert.Equal("deadbeef", status.Kernel.BuildId);
        Assert.Equal("integrity", status.Kernel.Lockdown);
        Assert.False(status.Kernel.SigEnforce);
        Assert.Equal(2U, status.PatchCount);
        Assert.Equal(1U, status.EnabledPatchCount);
        Assert.Equal(AgentState.Transitioning, status.State);
        Assert.Equal("lpdemo_v3", status.Transition.Patch);
        Assert.True(status.Transition.Patching);
        Assert.Equal("0.1.0", status.DaemonVersion);
    }

    [Fact]
    public async Task Status_says_unsupported_on_a_kernel_without_livepatch()
    {
        _fixture.WithoutLivepatch();
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var status = await daemon.Client.GetStatusAsync(new GetStatusRequest());

        Assert.Equal(AgentState.Unsupported, status.State);
        Assert.False(status.Kernel.LivepatchSupported);
        Assert.Equal(0U, status.PatchCount);
    }

    [Fact]
    public async Task ListPatches_returns_objects_functions_and_module_facts()
    {
        _fixture.WithLayout(KernelLayout.Linux614);
        _fixture.AddPatch("b_patch", replace: true, stackOrder: 1).Object("vmlinux").Function("meminfo_proc_show", 2);
        _fixture.AddPatch("a_patch", stackOrder: 2).Object("vmlinux").Function("cmdline_proc_show").Object("ext4", patched: false).Function("ext4_fill_super");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var list = await daemon.Client.ListPatchesAsync(new ListPatchesRequest());

        Assert.Equal(["b_patch", "a_patch"], list.Patches.Select(p => p.Name));
        var a = list.Patches[1];
        Assert.Equal(PatchState.Enabled, a.State);
        Assert.Equal(2U, a.StackOrder);
        Assert.False(a.Replace);
        Assert.True(list.Patches[0].Replace);
        Assert.Equal(["vmlinux", "ext4"], a.Objects.Select(o => o.Name));
        Assert.False(a.Objects[1].Patched);
        Assert.Equal("ext4_fill_super", a.Objects[1].Functions.Single().Name);
        Assert.Equal(2U, list.Patches[0].Objects[0].Functions[0].Sympos);
        Assert.Equal(1, a.Module.Refcnt);
        Assert.Equal("live", a.Module.Initstate);
    }

    [Fact]
    public async Task GetPatch_of_an_unknown_patch_fails_with_patch_not_found()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.GetPatchAsync(new GetPatchRequest { Name = "nope" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("patch-not-found", e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason);
        Assert.Contains("\"nope\" is not loaded", e.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a\0b")]
    [InlineData("")]
    [InlineData("a_name_that_is_far_too_long_for_any_kernel_module_to_carry_it")]
    public async Task GetPatch_rejects_names_the_kernel_cannot_have(string name)
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.GetPatchAsync(new GetPatchRequest { Name = name }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("invalid-argument", e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason);
    }

    [Fact]
    public async Task GetPatch_accepts_the_dash_spelling_of_a_module_name()
    {
        _fixture.AddPatch("lpdemo_v1").Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var patch = await daemon.Client.GetPatchAsync(new GetPatchRequest { Name = "lpdemo-v1" });

        Assert.Equal("lpdemo_v1", patch.Name);
    }

    [Fact]
    public async Task WatchEvents_reports_a_completed_transition_within_a_second()
    {
        _fixture.AddPatch("lpdemo_v1", transition: true).Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture, "Watch:IdleInterval=00:00:01", "Watch:TransitionInterval=00:00:00.100");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var call = daemon.Client.WatchEvents(new WatchEventsRequest(), cancellationToken: cts.Token);
        await call.ResponseHeadersAsync; // sent once the subscription exists

        _fixture.SetTransition("lpdemo_v1", false);
        var flipped = DateTime.UtcNow;
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        var received = DateTime.UtcNow;

        var e = call.ResponseStream.Current;
        Assert.Equal(EventKind.TransitionCompleted, e.Kind);
        Assert.Equal("lpdemo_v1", e.Patch);
        Assert.Equal(PatchState.Enabling, e.FromState);
        Assert.Equal(PatchState.Enabled, e.ToState);
        Assert.True(e.Sequence > 0);
        Assert.True(received - flipped < TimeSpan.FromSeconds(1), $"took {received - flipped}");
    }

    [Fact]
    public async Task WatchEvents_reports_disable_and_removal()
    {
        _fixture.AddPatch("lpdemo_v1").Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var call = daemon.Client.WatchEvents(new WatchEventsRequest(), cancellationToken: cts.Token);
        await call.ResponseHeadersAsync;

        // Two writes, and the daemon may poll between them: enabled first, so that the state in between (disabled, no
        // transition yet) gives the same events as the kernel's own order.
        _fixture.SetEnabled("lpdemo_v1", false).SetTransition("lpdemo_v1", true);
        var kinds = new List<EventKind>();
        while (kinds.Count < 2 && await call.ResponseStream.MoveNext(cts.Token))
        {
            kinds.Add(call.ResponseStream.Current.Kind);
        }

        _fixture.RemovePatch("lpdemo_v1");
        while (!kinds.Contains(EventKind.PatchRemoved) && await call.ResponseStream.MoveNext(cts.Token))
        {
            kinds.Add(call.ResponseStream.Current.Kind);
        }

        Assert.Equal([EventKind.PatchDisabled, EventKind.TransitionStarted], kinds.Take(2));
        Assert.Contains(EventKind.TransitionCompleted, kinds);
        Assert.Equal(EventKind.PatchRemoved, kinds[^1]);
    }

    [Fact]
    public async Task Health_service_answers_serving()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var health = await new Health.HealthClient(daemon.Channel).CheckAsync(new HealthCheckRequest());

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Fact]
    public async Task Reflection_lists_the_agent_service()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        using var call = new ServerReflection.ServerReflectionClient(daemon.Channel).ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Contains("livepatch.v1.Agent", call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));
    }

    [Fact]
    public async Task Socket_gets_the_configured_mode()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture, "Api:SocketMode=0660");

        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite,
            File.GetUnixFileMode(daemon.SocketPath));
    }

    [Fact]
    public async Task A_second_daemon_on_the_same_socket_is_refused()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        var error = new StringWriter();

        var exit = await DaemonProgram.RunAsync(daemon.Arguments(_fixture.Root), TextWriter.Null, error);

        Assert.Equal(1, exit);
        Assert.Contains("another livepatchd is already serving", error.ToString(), StringComparison.Ordinal);
        Assert.NotNull(await daemon.Client.GetStatusAsync(new GetStatusRequest())); // the first one is unharmed
    }

    [Fact]
    public async Task A_stale_socket_file_is_replaced()
    {
        var directory = Path.Combine(Path.GetTempPath(), "lpd-stale-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var socketPath = Path.Combine(directory, "livepatchd.sock");
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(socketPath)); // bound, never listening: what a crash leaves
        }

        using var cts = new CancellationTokenSource();
        var error = new StringWriter();
        var run = DaemonProgram.RunAsync(["--host-root", _fixture.Root, "--socket", socketPath, "--state-dir", directory, "--no-dbus", "--config", WriteEmptyConfig(directory)], TextWriter.Null, error, cts.Token);
        using var channel = Client.AgentChannel.Create(socketPath);
        await DaemonHarness.WaitForAsync(async () =>
        {
            try
            {
                await new Agent.AgentClient(channel).GetStatusAsync(new GetStatusRequest());
                return true;
            }
            catch (RpcException)
            {
                return run.IsCompleted ? throw new InvalidOperationException(error.ToString()) : false;
            }
        });

        await cts.CancelAsync();
        Assert.Equal(0, await run);
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_regular_file_at_the_socket_path_is_not_deleted()
    {
        var directory = Path.Combine(Path.GetTempPath(), "lpd-file-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        var socketPath = Path.Combine(directory, "livepatchd.sock");
        await File.WriteAllTextAsync(socketPath, "precious");
        var error = new StringWriter();

        var exit = await DaemonProgram.RunAsync(["--host-root", _fixture.Root, "--socket", socketPath, "--no-dbus", "--config", WriteEmptyConfig(directory)], TextWriter.Null, error);

        Assert.Equal(1, exit);
        Assert.Contains("is a regular, not a socket", error.ToString(), StringComparison.Ordinal);
        Assert.Equal("precious", await File.ReadAllTextAsync(socketPath));
        Directory.Delete(directory, recursive: true);
    }

    private static string WriteEmptyConfig(string directory)
    {
        var path = Path.Combine(directory, "livepatchd.json");
        File.WriteAllText(path, "{}");
        return path;
    }
}

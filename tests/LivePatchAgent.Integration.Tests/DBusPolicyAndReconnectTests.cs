using System.Diagnostics;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Integration.Tests;

/// <summary>The shipped bus policy, as enforced by a real dbus-daemon, for root and for nobody.</summary>
public sealed class DBusPolicyTests : IAsyncLifetime
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create();
    private DBusTestBus _bus = null!;
    private DaemonHarness _daemon = null!;

    public async Task InitializeAsync()
    {
        Assert.True(Environment.UserName == "root", "the policy tests compare root with nobody and must run as root");
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        _bus = await DBusTestBus.StartAsync();
        _daemon = await DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { DBusAddress = _bus.Address });
        await DaemonHarness.WaitForAsync(_bus.NameHasOwnerAsync, TimeSpan.FromSeconds(20));
    }

    public async Task DisposeAsync()
    {
        await _daemon.DisposeAsync();
        await _bus.DisposeAsync();
        _fixture.Dispose();
    }

    [Fact]
    public async Task Anyone_may_introspect_read_call_and_receive()
    {
        var introspect = await Nobody("introspect", DBusTestBus.Name, DBusTestBus.ObjectPath);
        var property = await Nobody("get-property", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "State");
        var all = await Nobody("call", DBusTestBus.Name, DBusTestBus.ObjectPath, "org.freedesktop.DBus.Properties", "GetAll", "s", DBusTestBus.Interface);
        var patches = await Nobody("call", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "GetPatches");
        var ping = await Nobody("call", DBusTestBus.Name, DBusTestBus.ObjectPath, "org.freedesktop.DBus.Peer", "Ping");

        Assert.True(introspect.ExitCode == 0, introspect.ToString());
        Assert.Equal("s \"idle\"\n", property.Out);
        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.StartsWith("a(ssbbu) 1 \"lpdemo_v1\"", patches.Out, StringComparison.Ordinal);
        Assert.True(ping.ExitCode == 0, ping.ToString());
    }

    [Fact]
    public async Task Nobody_may_set_a_property_not_even_root()
    {
        var asNobody = await Nobody("set-property", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "State", "s", "idle");
        var asRoot = await _bus.BusctlAsync("set-property", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "State", "s", "idle");

        Assert.NotEqual(0, asNobody.ExitCode);
        Assert.Contains("Access denied", asNobody.Error, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual(0, asRoot.ExitCode);
        Assert.Contains("Access denied", asRoot.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Only_root_may_own_the_name()
    {
        // RequestName with DO_NOT_QUEUE (4): the policy decides before the current owner matters.
        var nobody = await ToolProcess.RunAsNobodyAsync("gdbus", "call", "--address", _bus.Address, "--dest", "org.freedesktop.DBus",
            "--object-path", "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.RequestName", DBusTestBus.Name, "4");
        var root = await _bus.BusctlAsync("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName", "su", DBusTestBus.Name, "4");
        var other = await _bus.BusctlAsync("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName", "su", "org.livepatchd.Other", "4");

        Assert.NotEqual(0, nobody.ExitCode);
        Assert.Contains("org.freedesktop.DBus.Error.AccessDenied", nobody.Error, StringComparison.Ordinal);
        Assert.Contains("not allowed to own the service \"org.livepatchd.Agent1\"", nobody.Error, StringComparison.Ordinal);
        // Root passes the policy; the daemon owns the name already, so the bus answers 3 (EXISTS).
        Assert.Equal("u 3\n", root.Out);
        // The policy opens exactly this one name, even for root.
        Assert.NotEqual(0, other.ExitCode);
    }

    private Task<ToolRun> Nobody(params string[] args) => ToolProcess.RunAsNobodyAsync("busctl", ["--address=" + _bus.Address, .. args]);
}

/// <summary>D-Bus is optional to the daemon: gRPC serves without it, and the name comes back with the bus.</summary>
public sealed class DBusReconnectTests : IAsyncLifetime
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create();
    private DBusTestBus _bus = null!;

    public Task InitializeAsync()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        _bus = DBusTestBus.Create();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _bus.DisposeAsync();
        _fixture.Dispose();
    }

    [Fact]
    public async Task Without_a_bus_gRPC_serves_at_once_degraded_until_the_bus_appears()
    {
        var clock = Stopwatch.StartNew();
        await using var daemon = await DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { DBusAddress = _bus.Address });
        var startup = clock.Elapsed;

        var before = await daemon.Client.GetStatusAsync(new GetStatusRequest());
        await _bus.StartDaemonAsync();
        await DaemonHarness.WaitForAsync(_bus.NameHasOwnerAsync, TimeSpan.FromSeconds(30));
        await DaemonHarness.WaitForAsync(async () => (await daemon.Client.GetStatusAsync(new GetStatusRequest())).State == AgentState.Idle);

        // A missing bus fails the one start-up attempt at once; nothing waits for it.
        Assert.True(startup < TimeSpan.FromSeconds(15), $"start took {startup}");
        Assert.Equal(AgentState.Degraded, before.State);
        Assert.Contains(before.Problems, p => p.Message.StartsWith($"d-bus: not connected to {_bus.Address}", StringComparison.Ordinal));
        Assert.Equal("s \"idle\"", await _bus.GetPropertyAsync("State"));
        Assert.Equal("s \"\"", await _bus.GetPropertyAsync("LastError"));
    }

    [Fact]
    public async Task Killing_and_restarting_the_bus_is_survived()
    {
        await _bus.StartDaemonAsync();
        await using var daemon = await DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { DBusAddress = _bus.Address });
        await DaemonHarness.WaitForAsync(_bus.NameHasOwnerAsync, TimeSpan.FromSeconds(20));
        Assert.Equal(AgentState.Idle, (await daemon.Client.GetStatusAsync(new GetStatusRequest())).State);

        await _bus.KillAsync();
        await DaemonHarness.WaitForAsync(async () => (await daemon.Client.GetStatusAsync(new GetStatusRequest())).State == AgentState.Degraded);
        // gRPC is unaffected meanwhile.
        var patches = await daemon.Client.ListPatchesAsync(new ListPatchesRequest());
        await _bus.StartDaemonAsync();
        await DaemonHarness.WaitForAsync(_bus.NameHasOwnerAsync, TimeSpan.FromSeconds(30));
        await DaemonHarness.WaitForAsync(async () => (await daemon.Client.GetStatusAsync(new GetStatusRequest())).State == AgentState.Idle);

        Assert.Equal(["lpdemo_v1"], patches.Patches.Select(p => p.Name));
        // The new connection serves and signals like the first one.
        using var monitor = await _bus.MonitorAsync();
        _fixture.AddPatch("lpdemo_v2").Object("vmlinux").Function("meminfo_proc_show");
        await monitor.WaitForLineAsync(l => l.Contains("PatchStateChanged ('lpdemo_v2', 'enabled')", StringComparison.Ordinal));
        Assert.Equal("u 2", await _bus.GetPropertyAsync("PatchCount"));
    }
}

using System.Text.Json;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The real daemon on a private dbus-daemon (with the policy that ships), driven by the Debian clients busctl
/// and gdbus as a monitoring script would.
/// </summary>
public sealed class DBusInterfaceTests : IAsyncLifetime
{
    private static readonly ContractXml Contract = ContractXml.FromRepository();
    private readonly SysfsFixture _fixture = SysfsFixture.Create();
    private DBusTestBus _bus = null!;
    private DaemonHarness _daemon = null!;

    public async Task InitializeAsync()
    {
        _fixture.WithTaint(45056);
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        _fixture.AddPatch("lpdemo_v2").Object("vmlinux").Function("meminfo_proc_show").Function("version_proc_show", 2);
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
    public async Task Introspection_serves_the_contract_with_Properties_Introspectable_and_Peer()
    {
        var busctl = await _bus.BusctlAsync("introspect", "--xml-interface", DBusTestBus.Name, DBusTestBus.ObjectPath);
        var gdbus = await _bus.GdbusAsync("introspect", "--dest", DBusTestBus.Name, "--object-path", DBusTestBus.ObjectPath, "--xml");

        Assert.True(busctl.ExitCode == 0, busctl.ToString());
        Assert.True(gdbus.ExitCode == 0, gdbus.ToString());
        var served = ContractXml.Parse(busctl.Out);
        Assert.Equal(Contract.Methods, served.Methods);
        Assert.Equal(Contract.Properties, served.Properties);
        Assert.Equal(Contract.Signals, served.Signals);
        Assert.Equal(
            ["org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer", "org.freedesktop.DBus.Properties", "org.livepatchd.Agent1"],
            ContractXml.InterfaceNames(gdbus.Out).Order());
    }

    [Fact]
    public async Task Every_property_of_the_contract_reads_with_its_declared_type()
    {
        foreach (var property in Contract.Properties)
        {
            var value = await _bus.GetPropertyAsync(property.Name);
            Assert.StartsWith(property.Type + " ", value + " ", StringComparison.Ordinal);
        }

        Assert.Equal("s \"0.1.0\"", await _bus.GetPropertyAsync("Version"));
        Assert.Equal("s \"6.1.0-56-amd64\"", await _bus.GetPropertyAsync("KernelRelease"));
        Assert.Equal("b true", await _bus.GetPropertyAsync("LivepatchSupported"));
        Assert.Equal("s \"idle\"", await _bus.GetPropertyAsync("State"));
        Assert.Equal("s \"\"", await _bus.GetPropertyAsync("TransitionPatch"));
        Assert.Equal("t 0", await _bus.GetPropertyAsync("TransitionStartedAt"));
        Assert.Equal("d 0", await _bus.GetPropertyAsync("TransitionSeconds"));
        Assert.Equal("u 2", await _bus.GetPropertyAsync("PatchCount"));
        Assert.Equal("u 2", await _bus.GetPropertyAsync("EnabledPatchCount"));
        Assert.Equal("as 0", await _bus.GetPropertyAsync("ForcedPatches"));
        Assert.Equal("t 45056", await _bus.GetPropertyAsync("TaintMask"));
        Assert.Equal("s \"OEK\"", await _bus.GetPropertyAsync("TaintFlags"));
        Assert.Equal("s \"\"", await _bus.GetPropertyAsync("LastError"));
        var updatedAt = ulong.Parse((await _bus.GetPropertyAsync("UpdatedAt"))[2..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(DateTimeOffset.UnixEpoch.AddTicks((long)updatedAt * 10), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task GetAll_returns_every_property_to_gdbus()
    {
        var run = await _bus.GdbusAsync("call", "--dest", DBusTestBus.Name, "--object-path", DBusTestBus.ObjectPath,
            "--method", "org.freedesktop.DBus.Properties.GetAll", DBusTestBus.Interface);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.All(Contract.Properties, p => Assert.Contains($"'{p.Name}': <", run.Out, StringComparison.Ordinal));
        Assert.Contains("'State': <'idle'>", run.Out, StringComparison.Ordinal);
        Assert.Contains("'PatchCount': <uint32 2>", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetPatches_lists_the_fixture_patches_as_structs()
    {
        var text = await _bus.BusctlAsync("call", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "GetPatches");
        var json = await _bus.BusctlAsync("--json=short", "call", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "GetPatches");

        Assert.Equal("a(ssbbu) 2 \"lpdemo_v1\" \"enabled\" true false 1 \"lpdemo_v2\" \"enabled\" true false 2\n", text.Out);
        using var document = JsonDocument.Parse(json.Out);
        Assert.Equal("a(ssbbu)", document.RootElement.GetProperty("type").GetString());
        var rows = document.RootElement.GetProperty("data")[0].EnumerateArray().Select(r => r[0].GetString()).ToList();
        Assert.Equal(["lpdemo_v1", "lpdemo_v2"], rows);
    }

    [Fact]
    public async Task GetPatch_returns_one_patch_as_a_dictionary()
    {
        var run = await _bus.BusctlAsync("--json=short", "call", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "GetPatch", "s", "lpdemo-v2");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var document = JsonDocument.Parse(run.Out);
        var patch = document.RootElement.GetProperty("data")[0];
        Assert.Equal("lpdemo_v2", patch.GetProperty("Name").GetProperty("data").GetString());
        Assert.Equal("enabled", patch.GetProperty("State").GetProperty("data").GetString());
        Assert.True(patch.GetProperty("Enabled").GetProperty("data").GetBoolean());
        Assert.Equal(["vmlinux:meminfo_proc_show,1", "vmlinux:version_proc_show,2"], patch.GetProperty("Functions").GetProperty("data").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(1, patch.GetProperty("ModuleRefCount").GetProperty("data").GetInt32());
        Assert.Equal("OEK", patch.GetProperty("ModuleTaint").GetProperty("data").GetString());
        // Linux 6.1 layout: no replace attribute, so no key for it; no stack_order either, so the position comes
        // from the order the patch modules were loaded in (/proc/modules) and says so.
        Assert.False(patch.TryGetProperty("Replace", out _));
        Assert.Equal(2u, patch.GetProperty("StackOrder").GetProperty("data").GetUInt32());
        Assert.Equal("load-order", patch.GetProperty("StackOrderSource").GetProperty("data").GetString());
    }

    [Fact]
    public async Task Errors_carry_the_catalogue_reason_in_their_name()
    {
        var missing = await GdbusCallAsync("org.livepatchd.Agent1.GetPatch", "nope");
        var invalid = await GdbusCallAsync("org.livepatchd.Agent1.GetPatch", "../x");
        var unknown = await GdbusCallAsync("org.livepatchd.Agent1.Bogus");
        var wrongArgs = await _bus.BusctlAsync("call", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, "GetPatch", "u", "7");

        Assert.Contains("org.livepatchd.Agent1.Error.PatchNotFound: patch \"nope\" is not loaded", missing.Error, StringComparison.Ordinal);
        Assert.Contains("org.livepatchd.Agent1.Error.InvalidArgument: invalid patch name", invalid.Error, StringComparison.Ordinal);
        Assert.Contains("org.freedesktop.DBus.Error.UnknownMethod", unknown.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, wrongArgs.ExitCode);
        Assert.Contains("GetPatch takes \"s\", not \"u\"", wrongArgs.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_method_of_the_contract_is_answered_with_its_declared_reply_type()
    {
        foreach (var method in Contract.Methods)
        {
            string[] args = method.In switch
            {
                "" => [],
                "s" => ["s", "lpdemo_v1"],
                "u" => ["u", "10"],
                _ => throw new InvalidOperationException($"add sample arguments for {method.Name}({method.In})"),
            };
            var run = await _bus.BusctlAsync(["--json=short", "call", DBusTestBus.Name, DBusTestBus.ObjectPath, DBusTestBus.Interface, method.Name, .. args]);

            Assert.True(run.ExitCode == 0, $"{method.Name}: {run}");
            using var document = JsonDocument.Parse(run.Out);
            Assert.Equal(method.Out, document.RootElement.GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task Peer_answers_ping_and_the_machine_id()
    {
        var ping = await _bus.BusctlAsync("call", DBusTestBus.Name, DBusTestBus.ObjectPath, "org.freedesktop.DBus.Peer", "Ping");
        var machine = await _bus.BusctlAsync("call", DBusTestBus.Name, DBusTestBus.ObjectPath, "org.freedesktop.DBus.Peer", "GetMachineId");

        Assert.True(ping.ExitCode == 0, ping.ToString());
        Assert.Matches("^s \"[0-9a-f]{32}\"\n$", machine.Out);
    }

    [Fact]
    public async Task A_patch_change_sends_PropertiesChanged_with_only_the_changes_and_PatchStateChanged()
    {
        using var monitor = await _bus.MonitorAsync();

        _fixture.AddPatch("lpdemo_v3", transition: true).Object("vmlinux").Function("uptime_proc_show");
        var started = await monitor.WaitForLineAsync(l => l.Contains(".PropertiesChanged", StringComparison.Ordinal));
        await monitor.WaitForLineAsync(l => l.Contains("org.livepatchd.Agent1.PatchStateChanged ('lpdemo_v3', 'enabling')", StringComparison.Ordinal));
        _fixture.SetTransition("lpdemo_v3", false);
        var finished = await monitor.WaitForLineAsync(l => l.Contains(".PropertiesChanged", StringComparison.Ordinal));
        await monitor.WaitForLineAsync(l => l.Contains("org.livepatchd.Agent1.PatchStateChanged ('lpdemo_v3', 'enabled')", StringComparison.Ordinal));

        Assert.Contains("'State': <'transitioning'>", started, StringComparison.Ordinal);
        Assert.Contains("'TransitionPatch': <'lpdemo_v3'>", started, StringComparison.Ordinal);
        Assert.Contains("'PatchCount': <uint32 3>", started, StringComparison.Ordinal);
        Assert.Contains("'UpdatedAt': <uint64 ", started, StringComparison.Ordinal);
        Assert.Contains("'State': <'idle'>", finished, StringComparison.Ordinal);
        Assert.Contains("'EnabledPatchCount': <uint32 3>", finished, StringComparison.Ordinal);
        // Only what changed: nothing about the kernel, and never the continuously growing TransitionSeconds.
        Assert.DoesNotContain("KernelRelease", monitor.Transcript, StringComparison.Ordinal);
        Assert.DoesNotContain("TaintMask", monitor.Transcript, StringComparison.Ordinal);
        Assert.DoesNotContain("TransitionSeconds", monitor.Transcript, StringComparison.Ordinal);
        Assert.Equal("s \"idle\"", await _bus.GetPropertyAsync("State"));
    }

    [Fact]
    public async Task A_removed_patch_is_signalled_as_removed()
    {
        using var monitor = await _bus.MonitorAsync();

        _fixture.RemovePatch("lpdemo_v1");

        await monitor.WaitForLineAsync(l => l.Contains("PatchStateChanged ('lpdemo_v1', 'removed')", StringComparison.Ordinal));
        Assert.Equal("u 1", await _bus.GetPropertyAsync("PatchCount"));
    }

    [Fact]
    public async Task A_new_kernel_sends_KernelChanged()
    {
        using var monitor = await _bus.MonitorAsync();

        // The release is read again only when the boot id changes: write it first, as a reboot would leave it.
        _fixture.WithRelease("6.1.0-57-amd64").WithBootId("9f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f");

        await monitor.WaitForLineAsync(l => l.Contains("org.livepatchd.Agent1.KernelChanged ('6.1.0-57-amd64',)", StringComparison.Ordinal));
        Assert.Equal("s \"6.1.0-57-amd64\"", await _bus.GetPropertyAsync("KernelRelease"));
    }

    private Task<ToolRun> GdbusCallAsync(string method, params string[] args) =>
        _bus.GdbusAsync(["call", "--dest", DBusTestBus.Name, "--object-path", DBusTestBus.ObjectPath, "--method", method, .. args]);
}

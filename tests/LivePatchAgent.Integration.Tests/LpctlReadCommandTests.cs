using System.Text.Json;

namespace LivePatchAgent.Integration.Tests;

/// <summary>lpctl status, list and info as a process against the real daemon on a fixture tree.</summary>
public sealed class LpctlReadCommandTests : IDisposable
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Status_table_shows_the_fixture_kernel_plainly()
    {
        _fixture.WithTaint(45056);
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var run = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "status");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("", run.Error);
        Assert.Matches(@"(?m)^Kernel: +6\.1\.0-56-amd64 \(#1 SMP PREEMPT_DYNAMIC Debian", run.Out);
        Assert.Matches("(?m)^Livepatch: +supported$", run.Out);
        Assert.Matches("(?m)^State: +idle$", run.Out);
        Assert.Matches(@"(?m)^Patches: +1 \(1 enabled\)$", run.Out);
        Assert.Matches("(?m)^Transition: +none$", run.Out);
        Assert.Matches(@"(?m)^Taint: +45056 \(OEK\)$", run.Out);
        Assert.Matches("(?m)^Lockdown: +none$", run.Out);
        Assert.Matches("(?m)^Signature enforcement: +off$", run.Out);
        Assert.Matches(@"(?m)^Daemon: +livepatchd 0\.1\.0, up ", run.Out);
        Assert.Matches("(?m)^Problems: +none$", run.Out);
    }

    [Fact]
    public async Task Status_json_is_one_document_with_schema_version_1()
    {
        _fixture.WithTaint(45056);
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var run = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "-o", "json", "status");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        var root = json.RootElement;
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("0.1.0", root.GetProperty("daemonVersion").GetString());
        Assert.Equal("idle", root.GetProperty("state").GetString());
        Assert.True(root.GetProperty("startedAt").TryGetDateTimeOffset(out _));
        Assert.True(root.GetProperty("uptimeSeconds").GetDouble() >= 0);
        Assert.Equal(1, root.GetProperty("patchCount").GetInt32());
        Assert.Equal(1, root.GetProperty("enabledPatchCount").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("transition").ValueKind);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("problems").ValueKind);
        var kernel = root.GetProperty("kernel");
        Assert.Equal("6.1.0-56-amd64", kernel.GetProperty("release").GetString());
        Assert.Equal(45056UL, kernel.GetProperty("taintMask").GetUInt64());
        Assert.Equal("OEK", kernel.GetProperty("taintFlags").GetString());
        Assert.True(kernel.GetProperty("livepatchSupported").GetBoolean());
        Assert.False(kernel.GetProperty("sigEnforce").GetBoolean());
        Assert.Equal("none", kernel.GetProperty("lockdown").GetString());
    }

    [Fact]
    public async Task Status_shows_a_running_transition()
    {
        _fixture.AddPatch("lpdemo_v1", transition: true).Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var table = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "status");
        var json = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "-o", "json", "status");

        Assert.Matches("(?m)^Transition: +lpdemo_v1 patching for ", table.Out);
        using var document = JsonDocument.Parse(json.Out);
        Assert.Equal("transitioning", document.RootElement.GetProperty("state").GetString());
        var transition = document.RootElement.GetProperty("transition");
        Assert.Equal("lpdemo_v1", transition.GetProperty("patch").GetString());
        Assert.True(transition.GetProperty("patching").GetBoolean());
    }

    [Fact]
    public async Task Status_says_plainly_that_the_kernel_has_no_livepatch_support()
    {
        _fixture.WithoutLivepatch();
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var table = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "status");
        var json = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "-o", "json", "status");

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Matches(@"(?m)^Livepatch: +not supported by this kernel \(/sys/kernel/livepatch is missing\)$", table.Out);
        Assert.Matches("(?m)^State: +unsupported ", table.Out);
        Assert.Equal(0, json.ExitCode);
        using var document = JsonDocument.Parse(json.Out);
        Assert.Equal("unsupported", document.RootElement.GetProperty("state").GetString());
        Assert.False(document.RootElement.GetProperty("kernel").GetProperty("livepatchSupported").GetBoolean());
    }

    [Fact]
    public async Task List_table_has_one_aligned_row_per_patch()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        _fixture.AddPatch("lpdemo_sleeper_v1", transition: true).Object("lpdemo_sleeper").Function("lpdemo_sleeper_wait").Function("lpdemo_sleeper_tick", 2);
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var run = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "list");

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Out.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Matches("^NAME +STATE +OBJECTS +FUNCTIONS +REPLACE +ORDER +REFCNT +TAINT +CVES +METADATA$", lines[0]);
        var row = lines.Single(l => l.StartsWith("lpdemo_v1 ", StringComparison.Ordinal));
        // No stack_order attribute in the fixture: the order comes from /proc/modules (the only patch is first).
        Assert.Matches("^lpdemo_v1 +enabled +1 +1 +- +1 +1 +OEK +\\? +\\?$", row);
        Assert.Matches("^lpdemo_sleeper_v1 +enabling +1 +2 ", lines.Single(l => l.StartsWith("lpdemo_sleeper_v1", StringComparison.Ordinal)));
        // Columns line up: every row has STATE where the header has it.
        var stateColumn = lines[0].IndexOf("STATE", StringComparison.Ordinal);
        Assert.All(lines.Skip(1), l => Assert.NotEqual(' ', l[stateColumn]));
        Assert.All(lines.Skip(1), l => Assert.Equal(' ', l[stateColumn - 1]));
    }

    [Fact]
    public async Task List_json_has_each_patch_with_objects_functions_and_module()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var run = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "-o", "json", "list");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        Assert.Equal(1, json.RootElement.GetProperty("schemaVersion").GetInt32());
        var patch = json.RootElement.GetProperty("patches").EnumerateArray().Single();
        Assert.Equal("lpdemo_v1", patch.GetProperty("name").GetString());
        Assert.Equal("enabled", patch.GetProperty("state").GetString());
        Assert.True(patch.GetProperty("enabled").GetBoolean());
        Assert.False(patch.GetProperty("transition").GetBoolean());
        Assert.Equal(JsonValueKind.Null, patch.GetProperty("replace").ValueKind);
        Assert.Equal(1, patch.GetProperty("stackOrder").GetInt32());
        Assert.Equal("module-load-order", patch.GetProperty("stackOrderSource").GetString());
        var vmlinux = patch.GetProperty("objects").EnumerateArray().Single();
        Assert.Equal("vmlinux", vmlinux.GetProperty("name").GetString());
        Assert.True(vmlinux.GetProperty("patched").GetBoolean());
        var function = vmlinux.GetProperty("functions").EnumerateArray().Single();
        Assert.Equal("cmdline_proc_show", function.GetProperty("name").GetString());
        Assert.Equal(1, function.GetProperty("sympos").GetInt32());
        var module = patch.GetProperty("module");
        Assert.Equal(1, module.GetProperty("refcnt").GetInt32());
        Assert.Equal("OEK", module.GetProperty("taint").GetString());
        Assert.Equal("0123456789ABCDEF0123456", module.GetProperty("srcversion").GetString());
        Assert.Equal("live", module.GetProperty("initstate").GetString());
    }

    [Fact]
    public async Task List_on_6_14_layout_shows_replace_and_stack_order()
    {
        _fixture.WithLayout(KernelLayout.Linux614);
        _fixture.AddPatch("lpdemo_v2", replace: true, stackOrder: 1).Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var run = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "-o", "json", "list");

        using var json = JsonDocument.Parse(run.Out);
        var patch = json.RootElement.GetProperty("patches")[0];
        Assert.True(patch.GetProperty("replace").GetBoolean());
        Assert.Equal(1, patch.GetProperty("stackOrder").GetInt32());
    }

    [Fact]
    public async Task Empty_list_says_so_in_table_and_is_an_empty_array_in_json()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var table = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "list");
        var json = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "-o", "json", "list");

        Assert.Equal(0, table.ExitCode);
        Assert.Equal("no live patches loaded\n", table.Out);
        Assert.Equal(0, json.ExitCode);
        using var document = JsonDocument.Parse(json.Out);
        Assert.Equal(0, document.RootElement.GetProperty("patches").GetArrayLength());
    }

    [Fact]
    public async Task Info_table_shows_every_object_and_function()
    {
        _fixture.AddPatch("lpdemo_v1")
            .Object("vmlinux").Function("cmdline_proc_show").Function("meminfo_proc_show", 2)
            .Object("ext4", patched: false).Function("ext4_fill_super");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var run = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "info", "lpdemo_v1");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches("(?m)^Name: +lpdemo_v1$", run.Out);
        Assert.Matches("(?m)^State: +enabled$", run.Out);
        Assert.Matches("(?m)^Module: +refcnt 1, taint OEK, srcversion 0123456789ABCDEF0123456, live$", run.Out);
        Assert.Matches("(?m)^Objects: +2 objects, 3 functions$", run.Out);
        Assert.Contains("  vmlinux  patched\n", run.Out, StringComparison.Ordinal);
        Assert.Contains("    cmdline_proc_show  sympos 1\n", run.Out, StringComparison.Ordinal);
        Assert.Contains("    meminfo_proc_show  sympos 2\n", run.Out, StringComparison.Ordinal);
        Assert.Contains("  ext4  not patched (object not loaded)\n    ext4_fill_super  sympos 1\n", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_json_wraps_the_patch_with_schema_version()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var run = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "-o", "json", "info", "lpdemo_v1");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        Assert.Equal(["schemaVersion", "patch"], json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, json.RootElement.GetProperty("schemaVersion").GetInt32());
        var patch = json.RootElement.GetProperty("patch");
        Assert.Equal("lpdemo_v1", patch.GetProperty("name").GetString());
        Assert.Equal("cmdline_proc_show", patch.GetProperty("objects")[0].GetProperty("functions")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Info_of_an_unknown_patch_exits_1_with_the_daemons_message()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var table = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "info", "nosuch");
        var json = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "-o", "json", "info", "nosuch");

        Assert.True(table.ExitCode == 1, table.ToString());
        Assert.Equal("", table.Out);
        Assert.StartsWith("lpctl: patch \"nosuch\" is not loaded\nhint: ", table.Error, StringComparison.Ordinal);
        Assert.Contains("lpctl list", table.Error, StringComparison.Ordinal);
        Assert.Equal(1, json.ExitCode);
        Assert.Equal("patch-not-found", json.JsonErrorReason());
        Assert.StartsWith("lpctl: patch \"nosuch\" is not loaded (patch-not-found)\n", json.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_with_an_invalid_name_exits_1_with_the_invalid_argument_reason()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var run = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "-o", "json", "info", "../etc");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal("invalid-argument", run.JsonErrorReason());
        Assert.Matches(@"^lpctl: .+ \(invalid-argument\)\n", run.Error);
    }

    [Fact]
    public async Task Socket_from_LPCTL_SOCKET_reaches_the_daemon()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var run = await LpctlProcess.RunAsync(["-o", "json", "status"], new Dictionary<string, string> { ["LPCTL_SOCKET"] = daemon.SocketPath });

        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        Assert.Equal(1, json.RootElement.GetProperty("schemaVersion").GetInt32());
    }
}

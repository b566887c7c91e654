using System.Security.Cryptography;
using System.Text.Json;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// lpctl verify, load and unload, and leftovers in list and status, as a process against the real daemon on a
/// fixture tree. The daemon's kernel is the <see cref="SimulatedKernel"/>: nothing here reaches finit_module or
/// delete_module of the host.
/// </summary>
public sealed class LpctlModuleCommandTests : SimulatedHostTests
{
    private static readonly string[] EveryCheck =
        ["elf", "livepatch", "kernel-release", "vermagic-flags", "build-id", "signature-present", "signature", "kernel-policy", "metadata"];


    public LpctlModuleCommandTests()
        : base("lpctl-mod-")
    {
    }

    [Fact]
    public async Task Verify_of_a_file_that_is_not_a_module_prints_every_check_and_exits_1()
    {
        await using var daemon = await StartAsync();
        var file = Write("junk.ko", RandomNumberGenerator.GetBytes(4096));

        var run = await Lpctl(daemon, "verify", file);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Matches("(?m)^Module: +unknown \\(the file is not a well-formed kernel module\\)$", run.Out);
        Assert.Matches("(?m)^Size: +4096 bytes$", run.Out);
        Assert.Matches("(?m)^CHECK +RESULT +DETAIL$", run.Out);
        foreach (var check in EveryCheck)
        {
            Assert.Matches($"(?m)^{check} +(pass|FAIL|skip) +\\S", run.Out);
        }

        Assert.Matches("(?m)^elf +FAIL .+\\(module-malformed\\)$", run.Out);
        Assert.Matches("(?m)^Result: FAILED at check elf \\(module-malformed\\)$", run.Out);
        Assert.StartsWith("lpctl: ", run.Error, StringComparison.Ordinal);
        Assert.Contains("\nhint: ", run.Error, StringComparison.Ordinal);
        Assert.Equal(0, Kernel.LoadCalls);
    }

    [Fact]
    public async Task Verify_json_of_a_file_that_is_not_a_module_has_every_check_and_the_reason()
    {
        await using var daemon = await StartAsync();
        var file = Write("junk.ko", RandomNumberGenerator.GetBytes(4096));

        var run = await Lpctl(daemon, "-o", "json", "verify", file);

        Assert.True(run.ExitCode == 1, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        var root = json.RootElement;
        Assert.Equal(["schemaVersion", "ok", "reason", "message", "checks", "module", "kernelPolicy"], Names(root));
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.False(root.GetProperty("ok").GetBoolean());
        Assert.Equal("module-malformed", root.GetProperty("reason").GetString());
        Assert.Equal(EveryCheck, root.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.All(root.GetProperty("checks").EnumerateArray(),
            c => Assert.Contains(c.GetProperty("result").GetString(), new[] { "passed", "failed", "skipped" }));
        var elf = root.GetProperty("checks")[0];
        Assert.Equal("failed", elf.GetProperty("result").GetString());
        Assert.Equal("module-malformed", elf.GetProperty("reason").GetString());
        var module = root.GetProperty("module");
        Assert.Equal(JsonValueKind.Null, module.GetProperty("name").ValueKind);
        Assert.Equal(4096, module.GetProperty("size").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))), module.GetProperty("sha256").GetString());
        Assert.False(root.GetProperty("kernelPolicy").GetProperty("sigEnforce").GetBoolean());
        Assert.Matches(@"^lpctl: .+ \(module-malformed\)\n", run.Error);
    }

    [Fact]
    public async Task Verify_of_a_trusted_module_exits_0_with_the_module_facts_and_signer()
    {
        await using var daemon = await StartAsync();
        var file = Write("lp_unit.ko", Signed());

        var table = await Lpctl(daemon, "verify", file);
        var json = await Lpctl(daemon, "-o", "json", "verify", file);

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Equal("", table.Error);
        Assert.Matches("(?m)^Module: +lp_unit$", table.Out);
        Assert.Matches($"(?m)^Vermagic: +{ModuleImage.Release} SMP preempt mod_unload modversions$", table.Out);
        Assert.Matches("(?m)^Livepatch: +yes$", table.Out);
        Assert.Matches("(?m)^Signature: +signed by .*LivePatchAgent.*, digest sha256; trusted$", table.Out);
        Assert.Matches("(?m)^kernel-release +pass ", table.Out);
        Assert.Matches("(?m)^signature +pass ", table.Out);
        Assert.DoesNotContain("FAIL", table.Out, StringComparison.Ordinal);
        Assert.Matches("(?m)^Result: passed", table.Out);

        Assert.True(json.ExitCode == 0, json.ToString());
        using var document = JsonDocument.Parse(json.Out);
        var root = document.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("reason").ValueKind);
        var module = root.GetProperty("module");
        Assert.Equal("lp_unit", module.GetProperty("name").GetString());
        Assert.True(module.GetProperty("livepatch").GetBoolean());
        Assert.Equal("GPL", module.GetProperty("license").GetString());
        Assert.Contains(module.GetProperty("modinfo").EnumerateArray(), f => f.GetProperty("key").GetString() == "vermagic");
        var signature = module.GetProperty("signature");
        Assert.True(signature.GetProperty("present").GetBoolean());
        Assert.True(signature.GetProperty("trusted").GetBoolean());
        Assert.Equal("sha256", signature.GetProperty("digestAlgorithm").GetString());
        Assert.Equal(JsonValueKind.String, signature.GetProperty("signer").ValueKind);
        Assert.Equal(0, Kernel.LoadCalls);
    }

    [Fact]
    public async Task Verify_of_a_module_from_an_untrusted_signer_exits_1_with_the_reason()
    {
        await using var daemon = await StartAsync();
        var file = Write("lp_unit.ko", Signed(TestSigningKey.Untrusted));

        var run = await Lpctl(daemon, "verify", file);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Matches("(?m)^signature +FAIL .+\\(untrusted-signer\\)$", run.Out);
        Assert.Matches("(?m)^Signature: +signed by .+; NOT trusted$", run.Out);
        Assert.StartsWith("lpctl: ", run.Error, StringComparison.Ordinal);
        Assert.Contains("hint: Add the signer's X.509 certificate", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("verify")]
    [InlineData("load")]
    public async Task A_missing_file_exits_1_without_contacting_the_daemon(string command)
    {
        // No daemon at all: contacting it would exit 3.
        var socket = Path.Combine(Files.FullName, "none.sock");
        var file = Path.Combine(Files.FullName, "nosuch.ko");

        var run = await LpctlProcess.RunAsync("--socket", socket, command, file);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal("", run.Out);
        Assert.Equal($"lpctl: cannot read {file}: no such file\n", run.Error);
    }

    [Theory]
    [InlineData("verify")]
    [InlineData("load")]
    [InlineData("unload")]
    public async Task A_readable_file_or_a_name_without_a_daemon_exits_3(string command)
    {
        var socket = Path.Combine(Files.FullName, "none.sock");
        var argument = command == "unload" ? "lp_unit" : Write("lp_unit.ko", Signed());

        var run = await LpctlProcess.RunAsync("--socket", socket, command, argument);

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Equal("", run.Out);
        Assert.StartsWith($"lpctl: cannot reach livepatchd: socket {socket} does not exist\n", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_directory_exits_1_saying_so()
    {
        var socket = Path.Combine(Files.FullName, "none.sock");

        var run = await LpctlProcess.RunAsync("--socket", socket, "verify", Files.FullName);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.StartsWith($"lpctl: cannot read {Files.FullName}: is a directory\n", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_of_garbage_bytes_exits_1_with_module_malformed_before_theKernel()
    {
        await using var daemon = await StartAsync();
        var file = Write("junk.ko", RandomNumberGenerator.GetBytes(4096));

        var table = await Lpctl(daemon, "load", file);
        var json = await Lpctl(daemon, "-o", "json", "load", file);

        Assert.True(table.ExitCode == 1, table.ToString());
        Assert.Equal("", table.Out);
        Assert.StartsWith("lpctl: ", table.Error, StringComparison.Ordinal);
        Assert.Contains("hint: Check that the file is the .ko", table.Error, StringComparison.Ordinal);
        Assert.Equal(1, json.ExitCode);
        Assert.Equal("module-malformed", json.JsonErrorReason());
        Assert.Matches(@"^lpctl: .+ \(module-malformed\)\n", json.Error);
        Assert.Equal(0, Kernel.LoadCalls);
    }

    [Fact]
    public async Task Load_of_a_trusted_module_prints_the_outcome_and_exits_0()
    {
        await using var daemon = await StartAsync();
        var file = Write("lp_unit.ko", Signed());

        var run = await Lpctl(daemon, "load", file);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("", run.Error);
        Assert.Matches("(?m)^Patch: +lp_unit$", run.Out);
        Assert.Matches("(?m)^State: +enabled$", run.Out);
        Assert.Matches(@"(?m)^completed: loaded lp_unit\b.* \(\d+\.\ds\)$", run.Out);
        Assert.DoesNotMatch("(?m)^Transition:", run.Out);
        Assert.Matches(@"(?m)^Elapsed: +\d+\.\ds$", run.Out);
        Assert.Matches("(?m)^Signer: +.*LivePatchAgent", run.Out);
        Assert.Equal(1, Kernel.LoadCalls);
        var list = await Lpctl(daemon, "list");
        Assert.Matches("(?m)^lp_unit +enabled ", list.Out);
    }

    [Fact]
    public async Task Load_json_has_the_outcome_the_patch_and_the_verification()
    {
        await using var daemon = await StartAsync();
        var module = Signed();
        var file = Write("lp_unit.ko", module);

        var run = await Lpctl(daemon, "-o", "json", "load", file);

        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        var root = json.RootElement;
        Assert.Equal(["schemaVersion", "name", "transitionCompleted", "elapsedSeconds", "message", "patch", "verification", "operation", "result", "error", "removedLeftovers"], Names(root));
        Assert.Equal("completed", root.GetProperty("result").GetProperty("kind").GetString());
        Assert.Equal("load", root.GetProperty("operation").GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("lp_unit", root.GetProperty("name").GetString());
        Assert.True(root.GetProperty("transitionCompleted").GetBoolean());
        Assert.True(root.GetProperty("elapsedSeconds").GetDouble() > 0);
        var patch = root.GetProperty("patch");
        Assert.Equal("lp_unit", patch.GetProperty("name").GetString());
        Assert.Equal("enabled", patch.GetProperty("state").GetString());
        Assert.Equal("vmlinux", patch.GetProperty("objects")[0].GetProperty("name").GetString());
        var verification = root.GetProperty("verification");
        Assert.Equal(["ok", "reason", "message", "checks", "module", "kernelPolicy"], Names(verification));
        Assert.True(verification.GetProperty("ok").GetBoolean());
        Assert.Equal(EveryCheck, verification.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(module)), verification.GetProperty("module").GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task Load_with_no_wait_exits_0_before_the_transition_completes()
    {
        Kernel.TransitionTime = TimeSpan.FromMinutes(10);
        await using var daemon = await StartAsync();
        var file = Write("lp_unit.ko", Signed());

        var run = await Lpctl(daemon, "-o", "json", "load", file, "--no-wait");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        Assert.False(json.RootElement.GetProperty("transitionCompleted").GetBoolean());
        Assert.Equal("enabling", json.RootElement.GetProperty("patch").GetProperty("state").GetString());
    }

    [Fact]
    public async Task Load_whose_transition_is_still_running_at_the_timeout_exits_1_and_says_where_to_look()
    {
        Kernel.TransitionTime = TimeSpan.FromMinutes(10);
        await using var daemon = await StartAsync();
        var file = Write("lp_unit.ko", Signed());

        var table = await Lpctl(daemon, "load", file, "--timeout", "0.5");

        Assert.True(table.ExitCode == 1, table.ToString());
        // stdout shows where the load got to; the still-running result is the error on stderr.
        Assert.Matches("(?m)^State: +enabling$", table.Out);
        Assert.StartsWith("lpctl: loaded lp_unit; its transition is ", table.Error, StringComparison.Ordinal);
        Assert.Contains("lpctl status", table.Error, StringComparison.Ordinal);
        Assert.Contains("lpctl blocking", table.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_json_of_a_transition_still_running_has_the_document_and_the_reason_on_stderr()
    {
        Kernel.TransitionTime = TimeSpan.FromMinutes(10);
        await using var daemon = await StartAsync();
        var file = Write("lp_unit.ko", Signed());

        var run = await Lpctl(daemon, "-o", "json", "load", file, "--timeout", "0.5");

        Assert.True(run.ExitCode == 1, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        Assert.False(json.RootElement.GetProperty("transitionCompleted").GetBoolean());
        Assert.Matches(@"^lpctl: .+ \(transition-timeout\)\n", run.Error);
    }

    [Fact]
    public async Task Load_of_a_patch_that_is_already_loaded_exits_1_with_already_loaded()
    {
        Fixture.AddPatch("lp_unit").Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await StartAsync();
        var file = Write("lp_unit.ko", Signed());

        var run = await Lpctl(daemon, "-o", "json", "load", file);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal("already-loaded", run.JsonErrorReason());
        Assert.Matches(@"^lpctl: .+ \(already-loaded\)\nhint: ", run.Error);
        Assert.Equal(0, Kernel.LoadCalls);
    }

    [Fact]
    public async Task A_module_over_the_daemons_size_limit_exits_1_with_module_too_large()
    {
        await using var daemon = await StartAsync("Limits:MaxModuleSize=65536");
        // Over the daemon's own limit, and over its transport limit (the limit plus 1 MiB) as well.
        var over = Write("big.ko", new byte[100 * 1024]);
        var farOver = Write("huge.ko", new byte[3 * 1024 * 1024]);

        var runs = new[]
        {
            await Lpctl(daemon, "-o", "json", "verify", over),
            await Lpctl(daemon, "-o", "json", "verify", farOver),
            await Lpctl(daemon, "-o", "json", "load", farOver),
        };

        Assert.All(runs, run =>
        {
            Assert.True(run.ExitCode == 1, run.ToString());
            Assert.Equal("module-too-large", run.JsonErrorReason());
            Assert.Matches(@"^lpctl: .+ \(module-too-large\)\n", run.Error);
        });
        Assert.Equal(0, Kernel.LoadCalls);
    }

    [Fact]
    public async Task Unload_of_an_unknown_patch_exits_1_with_patch_not_found()
    {
        await using var daemon = await StartAsync();

        var table = await Lpctl(daemon, "unload", "nosuch");
        var json = await Lpctl(daemon, "-o", "json", "unload", "nosuch");

        Assert.True(table.ExitCode == 1, table.ToString());
        Assert.Equal("", table.Out);
        Assert.StartsWith("lpctl: patch \"nosuch\" is not loaded\nhint: ", table.Error, StringComparison.Ordinal);
        Assert.Equal(1, json.ExitCode);
        Assert.Equal("patch-not-found", json.JsonErrorReason());
        Assert.StartsWith("lpctl: patch \"nosuch\" is not loaded (patch-not-found)\n", json.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unload_of_a_loaded_patch_exits_0_and_the_patch_is_gone()
    {
        Fixture.AddPatch("lp_unit").Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await StartAsync();

        var run = await Lpctl(daemon, "-o", "json", "unload", "lp_unit");

        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        var root = json.RootElement;
        Assert.Equal(["schemaVersion", "name", "wasLeftover", "elapsedSeconds", "message", "operation", "result", "error"], Names(root));
        Assert.Equal("completed", root.GetProperty("result").GetProperty("kind").GetString());
        Assert.Equal("lp_unit", root.GetProperty("name").GetString());
        Assert.False(root.GetProperty("wasLeftover").GetBoolean());
        Assert.True(root.GetProperty("elapsedSeconds").GetDouble() >= 0);
        Assert.False(Directory.Exists(Path.Combine(Fixture.Root, "sys/module/lp_unit")));
        var list = await Lpctl(daemon, "list");
        Assert.Equal("no live patches loaded\n", list.Out);
    }

    [Fact]
    public async Task Leftovers_are_listed_counted_in_status_and_removed_by_unload()
    {
        Fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        Fixture.AddPatch("lpdemo_v2", replace: true).Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await StartAsync();
        // An atomic replace: the kernel frees v1's patch, its module stays loaded.
        Fixture.RemovePatch("lpdemo_v1");
        await DaemonHarness.WaitForAsync(async () => (await Lpctl(daemon, "list")).Out.Contains("leftover", StringComparison.Ordinal));

        var table = await Lpctl(daemon, "list");
        var json = await Lpctl(daemon, "-o", "json", "list");
        var status = await Lpctl(daemon, "status");
        var statusJson = await Lpctl(daemon, "-o", "json", "status");

        Assert.True(table.ExitCode == 0, table.ToString());
        var lines = table.Out.TrimEnd('\n').Split('\n');
        Assert.Matches("^NAME +STATE ", lines[0]);
        Assert.Matches("^lpdemo_v2 +enabled ", lines[1]);
        Assert.Equal("", lines[2]);
        Assert.Equal("leftover modules (replaced or disabled, still loaded; remove with lpctl unload NAME):", lines[3]);
        Assert.Matches("^NAME +REFCNT +TAINT +SRCVERSION +INITSTATE$", lines[4]);
        Assert.Matches("^lpdemo_v1 +1 +OEK +0123456789ABCDEF0123456 +live$", lines[5]);
        Assert.Equal(6, lines.Length);

        using (var document = JsonDocument.Parse(json.Out))
        {
            Assert.Equal(["schemaVersion", "patches", "leftovers"], Names(document.RootElement));
            Assert.Equal("lpdemo_v2", document.RootElement.GetProperty("patches").EnumerateArray().Single().GetProperty("name").GetString());
            var leftover = document.RootElement.GetProperty("leftovers").EnumerateArray().Single();
            Assert.Equal("lpdemo_v1", leftover.GetProperty("name").GetString());
            Assert.Equal("OEK", leftover.GetProperty("module").GetProperty("taint").GetString());
        }

        Assert.Matches(@"(?m)^Leftovers: +1 module \(replaced or disabled, still loaded; see `lpctl list`\)$", status.Out);
        using (var document = JsonDocument.Parse(statusJson.Out))
        {
            Assert.Equal(1, document.RootElement.GetProperty("leftoverCount").GetInt32());
        }

        var unload = await Lpctl(daemon, "unload", "lpdemo_v1");

        Assert.True(unload.ExitCode == 0, unload.ToString());
        Assert.Matches(@"^completed: removed leftover module lpdemo_v1 \(\d+\.\ds\)\n$", unload.Out);
        var after = await Lpctl(daemon, "list");
        Assert.DoesNotContain("leftover", after.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("Leftovers:", (await Lpctl(daemon, "status")).Out, StringComparison.Ordinal);
    }

    private static byte[] Signed(TestSigningKey? key = null) => (key ?? TestSigningKey.Trusted).Sign(ModuleImage.Default());

    private static string[] Names(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];
}

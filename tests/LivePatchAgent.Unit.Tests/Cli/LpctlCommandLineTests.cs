using LivePatchAgent.Cli;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary>lpctl's command line, run in-process: usage errors exit 2 (never System.CommandLine's 1).</summary>
public sealed class LpctlCommandLineTests
{
    [Theory]
    [InlineData(new string[0], "no command given")]
    [InlineData(new[] { "bogus" }, "unrecognized command or argument 'bogus'")]
    [InlineData(new[] { "status", "--bogus" }, "unrecognized command or argument '--bogus'")]
    [InlineData(new[] { "-o", "xml", "status" }, "unknown output format \"xml\" (use table or json)")]
    [InlineData(new[] { "status", "--output", "yaml" }, "unknown output format \"yaml\" (use table or json)")]
    [InlineData(new[] { "info" }, "required argument 'NAME' missing for command: 'info'")]
    [InlineData(new[] { "info", "a", "b" }, "unrecognized command or argument 'b'")]
    [InlineData(new[] { "watch", "--count", "0" }, "--count needs a whole number of at least 1, not \"0\"")]
    [InlineData(new[] { "watch", "--count", "many" }, "--count needs a whole number of at least 1, not \"many\"")]
    [InlineData(new[] { "watch", "--timeout", "-1" }, "--timeout needs a positive number of seconds, not \"-1\"")]
    [InlineData(new[] { "watch", "--timeout", "soon" }, "--timeout needs a positive number of seconds, not \"soon\"")]
    [InlineData(new[] { "--socket", "", "status" }, "--socket needs a path")]
    [InlineData(new[] { "verify" }, "required argument 'FILE' missing for command: 'verify'")]
    [InlineData(new[] { "load" }, "required argument 'FILE' missing for command: 'load'")]
    [InlineData(new[] { "unload" }, "required argument 'NAME' missing for command: 'unload'")]
    [InlineData(new[] { "unload", " " }, "the patch name is empty")]
    [InlineData(new[] { "load", "x.ko", "--timeout", "0" }, "--timeout needs a number of seconds greater than 0 and at most 3600, not \"0\"")]
    [InlineData(new[] { "load", "x.ko", "--timeout", "3601" }, "--timeout needs a number of seconds greater than 0 and at most 3600, not \"3601\"")]
    [InlineData(new[] { "unload", "x", "--timeout", "soon" }, "--timeout needs a number of seconds greater than 0 and at most 3600, not \"soon\"")]
    [InlineData(new[] { "load", "x.ko", "--no-wait", "yes" }, "unrecognized command or argument 'yes'")]
    [InlineData(new[] { "revert" }, "required argument 'NAME' missing for command: 'revert'")]
    [InlineData(new[] { "revert", "x", "--timeout", "0" }, "--timeout needs a number of seconds greater than 0 and at most 3600, not \"0\"")]
    [InlineData(new[] { "force" }, "required argument 'NAME' missing for command: 'force'")]
    [InlineData(new[] { "force", "x", "--yes", "no" }, "unrecognized command or argument 'no'")]
    [InlineData(new[] { "kick" }, "required argument 'NAME' missing for command: 'kick'")]
    [InlineData(new[] { "kick", "" }, "the patch name is empty")]
    [InlineData(new[] { "blocking", "a", "b" }, "unrecognized command or argument 'b'")]
    public async Task Usage_errors_exit_2_with_one_lpctl_line_each_and_a_hint(string[] args, string message)
    {
        var run = await RunAsync(args);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal("", run.Out);
        var lines = run.Error.TrimEnd('\n').Split('\n');
        Assert.Equal($"lpctl: {message}", lines[0]);
        Assert.StartsWith("hint: run `lpctl", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_hint_names_the_command_that_was_used()
    {
        var run = await RunAsync(["watch", "--count", "0"]);

        Assert.EndsWith("hint: run `lpctl watch --help` for usage\n", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_long_socket_path_is_a_usage_error()
    {
        var run = await RunAsync(["--socket", "/tmp/" + new string('s', 200), "status"]);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("too long for a Unix socket", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_command_and_the_global_options_on_stdout()
    {
        var run = await RunAsync(["--help"]);

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        foreach (var expected in new[] { "status", "list", "info <NAME>", "verify <FILE>", "load <FILE>", "unload <NAME>", "blocking <NAME>", "revert <NAME>", "force <NAME>", "kick <NAME>", "watch", "--socket <PATH>", "-o, --output <table|json>", "LPCTL_SOCKET", "3 daemon unreachable" })
        {
            Assert.Contains(expected, run.Out, StringComparison.Ordinal);
        }

        Assert.Equal("", run.Error);
    }

    [Fact]
    public async Task Watch_help_describes_count_and_timeout()
    {
        var run = await RunAsync(["watch", "--help"]);

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.Contains("--count <N>", run.Out, StringComparison.Ordinal);
        Assert.Contains("--timeout <SECONDS>", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_help_describes_no_wait_and_timeout()
    {
        var run = await RunAsync(["load", "--help"]);

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.Contains("--no-wait", run.Out, StringComparison.Ordinal);
        Assert.Contains("--timeout <SECONDS>", run.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("verify")]
    [InlineData("load")]
    public async Task A_missing_module_file_fails_before_the_daemon_is_contacted(string command)
    {
        // The socket does not exist: contacting the daemon would exit 3, not 1.
        var socket = Path.Combine(Path.GetTempPath(), "lpctl-none-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        var file = Path.Combine(Path.GetTempPath(), "lpctl-none-" + Guid.NewGuid().ToString("N")[..8] + ".ko");

        var run = await RunAsync(["--socket", socket, command, file]);

        Assert.Equal(ExitCodes.Failed, run.ExitCode);
        Assert.Equal("", run.Out);
        Assert.Equal($"lpctl: cannot read {file}: no such file\n", run.Error);
    }

    [Fact]
    public async Task Force_without_yes_is_refused_before_the_daemon_is_contacted_and_says_what_force_costs()
    {
        // The socket does not exist: contacting the daemon would exit 3, not 1.
        var socket = Path.Combine(Path.GetTempPath(), "lpctl-none-" + Guid.NewGuid().ToString("N")[..8] + ".sock");

        var table = await RunAsync(["--socket", socket, "force", "lpdemo_v3"]);
        var json = await RunAsync(["--socket", socket, "-o", "json", "force", "lpdemo_v3"]);

        Assert.Equal(ExitCodes.Failed, table.ExitCode);
        Assert.Equal("", table.Out);
        var lines = table.Error.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Equal(
            "lpctl: refusing to force lpdemo_v3 without --yes: tasks still inside the old code keep running it, and a "
            + "forced unpatch or replace pins modules so that they can never be unloaded until reboot",
            lines[0]);
        Assert.StartsWith("hint: see what holds it with `lpctl blocking` and try `lpctl revert lpdemo_v3` first; read docs/operations.md", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("to force anyway, run `lpctl force lpdemo_v3 --yes`", lines[1], StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failed, json.ExitCode);
        Assert.Contains("until reboot (confirmation-required)\n", json.Error, StringComparison.Ordinal);
        // With -o json a failure is one document on stdout too, so scripts read the reason, not prose.
        using var document = System.Text.Json.JsonDocument.Parse(json.Out);
        var error = document.RootElement.GetProperty("error");
        Assert.Equal(1, document.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("confirmation-required", error.GetProperty("reason").GetString());
        Assert.StartsWith("refusing to force lpdemo_v3 without --yes", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("to force anyway, run `lpctl force lpdemo_v3 --yes`", error.GetProperty("hint").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Force_help_describes_yes_and_its_cost()
    {
        var run = await RunAsync(["force", "--help"]);

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.Contains("--yes", run.Out, StringComparison.Ordinal);
        Assert.Contains("until reboot", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Blocking_help_offers_no_stacks()
    {
        var run = await RunAsync(["blocking", "--help"]);

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.Contains("--no-stacks", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_the_name_and_version()
    {
        var run = await RunAsync(["--version"]);

        Assert.Equal(ExitCodes.Ok, run.ExitCode);
        Assert.Matches(@"^lpctl \d+\.\d+\.\d+.*\n$", run.Out);
    }

    [Fact]
    public async Task Global_options_are_accepted_after_the_command_too()
    {
        var socket = Path.Combine(Path.GetTempPath(), "lpctl-none-" + Guid.NewGuid().ToString("N")[..8] + ".sock");

        var run = await RunAsync(["status", "-o", "json", "--socket", socket]);

        Assert.Equal(ExitCodes.DaemonUnreachable, run.ExitCode);
        Assert.Contains($"lpctl: cannot reach livepatchd: socket {socket} does not exist (daemon-unreachable)\n", run.Error, StringComparison.Ordinal);
        using var document = System.Text.Json.JsonDocument.Parse(run.Out);
        Assert.Equal("daemon-unreachable", document.RootElement.GetProperty("error").GetProperty("reason").GetString());
    }

    private static async Task<(int ExitCode, string Out, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await Lpctl.RunAsync(args, new LpctlConsole(output, error, TimeZoneInfo.Utc), CancellationToken.None);
        return (exitCode, output.ToString(), error.ToString());
    }
}

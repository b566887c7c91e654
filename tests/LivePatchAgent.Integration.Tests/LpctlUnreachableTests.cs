using System.Net.Sockets;

namespace LivePatchAgent.Integration.Tests;

/// <summary>lpctl without a daemon, and its usage errors: the exit codes scripts rely on (docs/api.md).</summary>
public sealed class LpctlUnreachableTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lpctl-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("status")]
    [InlineData("list")]
    [InlineData("info", "lpdemo_v1")]
    [InlineData("watch")]
    public async Task Missing_socket_exits_3_naming_the_socket_and_systemctl(params string[] command)
    {
        var socket = Path.Combine(_directory, "livepatchd.sock");

        var run = await LpctlProcess.RunAsync(["--socket", socket, .. command]);

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Equal("", run.Out);
        Assert.StartsWith($"lpctl: cannot reach livepatchd: socket {socket} does not exist\n", run.Error, StringComparison.Ordinal);
        Assert.Contains("systemctl status livepatchd", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Cannot assign requested address", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_mode_error_adds_the_reason_and_keeps_stdout_empty()
    {
        var socket = Path.Combine(_directory, "livepatchd.sock");

        var run = await LpctlProcess.RunAsync("-o", "json", "--socket", socket, "status");

        Assert.Equal(3, run.ExitCode);
        Assert.Equal("daemon-unreachable", run.JsonErrorReason());
        Assert.StartsWith($"lpctl: cannot reach livepatchd: socket {socket} does not exist (daemon-unreachable)\n", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Socket_file_without_a_listener_exits_3_saying_nothing_listens()
    {
        // Bound but not listening, like the file a crashed daemon leaves (.NET deletes the file on Dispose,
        // so the socket stays open for the duration of the test).
        var socket = Path.Combine(_directory, "stale.sock");
        using var bound = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bound.Bind(new UnixDomainSocketEndPoint(socket));

        var run = await LpctlProcess.RunAsync("--socket", socket, "status");

        Assert.Equal(3, run.ExitCode);
        Assert.StartsWith($"lpctl: cannot reach livepatchd: nothing is listening on {socket}\n", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LPCTL_SOCKET_replaces_the_default_socket()
    {
        var socket = Path.Combine(_directory, "from-env.sock");

        var run = await LpctlProcess.RunAsync(["status"], new Dictionary<string, string> { ["LPCTL_SOCKET"] = socket });

        Assert.Equal(3, run.ExitCode);
        Assert.Contains(socket, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explicit_socket_wins_over_LPCTL_SOCKET()
    {
        var socket = Path.Combine(_directory, "explicit.sock");

        var run = await LpctlProcess.RunAsync(["--socket", socket, "status"],
            new Dictionary<string, string> { ["LPCTL_SOCKET"] = Path.Combine(_directory, "from-env.sock") });

        Assert.Equal(3, run.ExitCode);
        Assert.Contains(socket, run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("from-env.sock", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Default_socket_is_the_documented_path()
    {
        var run = await LpctlProcess.RunAsync("status");

        // On a machine running livepatchd this may succeed; otherwise the message names the default socket.
        if (run.ExitCode != 0)
        {
            Assert.Contains("/run/livepatchd/livepatchd.sock", run.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("-o", "xml", "status")]
    [InlineData("info")]
    [InlineData("watch", "--count", "0")]
    [InlineData("watch", "--timeout", "never")]
    [InlineData("status", "--no-such-option")]
    [InlineData]
    public async Task Usage_errors_exit_2_not_1(params string[] args)
    {
        var run = await LpctlProcess.RunAsync(args);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Equal("", run.Out);
        Assert.StartsWith("lpctl: ", run.Error, StringComparison.Ordinal);
        Assert.Contains("--help", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_and_help_exit_0_on_stdout()
    {
        var version = await LpctlProcess.RunAsync("--version");
        var help = await LpctlProcess.RunAsync("--help");

        Assert.Equal(0, version.ExitCode);
        Assert.StartsWith("lpctl 0.1.0", version.Out, StringComparison.Ordinal);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("watch", help.Out, StringComparison.Ordinal);
        Assert.Contains("--socket <PATH>", help.Out, StringComparison.Ordinal);
    }
}

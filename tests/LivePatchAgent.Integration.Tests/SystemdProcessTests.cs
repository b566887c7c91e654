using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using LivePatchAgent.Client;
using LivePatchAgent.Protocol.V1;
using Xunit.Abstractions;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// livepatchd as a real process whose parent is not systemd: it reads NOTIFY_SOCKET and LISTEN_FDS from its
/// environment, as under a unit, and gets a real SIGTERM. The build output next to the tests is run; set
/// DAEMON_UNDER_TEST to run another binary (e.g. the Native AOT one from `make publish`).
/// </summary>
public sealed class SystemdProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create();
    private readonly string _directory = CreateDirectory();
    private Task<string> _stderr = Task.FromResult(string.Empty);

    private string SocketPath => Path.Combine(_directory, "livepatchd.sock");

    public void Dispose()
    {
        // The daemon's log, for the test output when something failed.
        if (_stderr.Wait(TimeSpan.FromSeconds(5)))
        {
            output.WriteLine(_stderr.Result);
        }

        _fixture.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task SIGTERM_sends_STOPPING_after_a_single_READY_through_an_abstract_socket()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        using var notify = SystemdNotifySocket.Abstract();
        var clock = Stopwatch.StartNew();
        using var daemon = Start([], new() { ["NOTIFY_SOCKET"] = notify.Address, ["WATCHDOG_USEC"] = "400000" });

        var ready = await notify.WaitForAsync(m => m.Is("READY", "1"));
        var readyAfter = clock.Elapsed;
        await notify.WaitForAsync(m => m.Is("WATCHDOG", "1"));
        await SignalAsync(daemon, "TERM");
        await notify.WaitForAsync(m => m.Is("STOPPING", "1"));
        var exit = await WaitForExitAsync(daemon);

        output.WriteLine($"READY=1 {readyAfter.TotalMilliseconds:F0} ms after the process was started ({daemon.StartInfo.FileName})");
        Assert.Equal("1 patch enabled, idle", ready.Status);
        Assert.Single(notify.Messages, m => m.Fields.ContainsKey("READY"));
        Assert.Equal(0, exit);
    }

    [Fact]
    public async Task Socket_activation_serves_the_inherited_socket_and_leaves_it_to_systemd()
    {
        using var notify = SystemdNotifySocket.Abstract();
        // systemd-socket-activate binds the socket, waits for the first client, then execs livepatchd with
        // LISTEN_FDS=1, LISTEN_PID and LISTEN_FDNAMES=grpc, as livepatchd.socket would.
        using var daemon = Start(
            ["systemd-socket-activate", "--listen=" + SocketPath, "--fdname=grpc", "--setenv=NOTIFY_SOCKET=" + notify.Address, "--setenv=DOTNET_ROOT=" + DotnetRoot()],
            []);
        await DaemonHarness.WaitForAsync(() => Task.FromResult(File.Exists(SocketPath)));

        // The first call is what starts the daemon; it waits in the socket's queue until the daemon serves.
        using var channel = AgentChannel.Create(SocketPath);
        var status = await new Agent.AgentClient(channel).GetStatusAsync(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(60));
        await notify.WaitForAsync(m => m.Is("READY", "1"));
        var fdFlags = ReadFdFlags(daemon.Id, 3);
        await SignalAsync(daemon, "TERM");
        var exit = await WaitForExitAsync(daemon);

        Assert.Equal(AgentState.Idle, status.State);
        // O_CLOEXEC (02000000 in fdinfo's octal flags): no child inherits the listening socket.
        Assert.True((fdFlags & Convert.ToInt64("2000000", 8)) != 0, $"fd 3 flags {Convert.ToString(fdFlags, 8)}");
        Assert.Equal(0, exit);
        // The socket is systemd's: the daemon neither refused it as "in use" at start nor removed it at stop.
        Assert.True(File.Exists(SocketPath));
    }

    [Fact]
    public async Task An_activated_socket_on_another_path_than_Api_SocketPath_is_refused_with_a_clear_message()
    {
        var other = Path.Combine(_directory, "other.sock");
        using var daemon = Start(["systemd-socket-activate", "--listen=" + other, "--setenv=DOTNET_ROOT=" + DotnetRoot()], []);
        await DaemonHarness.WaitForAsync(() => Task.FromResult(File.Exists(other)));

        using (var client = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            client.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(other));
        }

        var exit = await WaitForExitAsync(daemon);
        var error = await _stderr;

        Assert.Equal(1, exit);
        Assert.Contains($"systemd passed the socket {other}, but Api:SocketPath is {SocketPath}", error, StringComparison.Ordinal);
    }

    private Process Start(string[] wrapper, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo
        {
            FileName = wrapper.Length > 0 ? wrapper[0] : DaemonBinary(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in wrapper.Skip(1).Concat(wrapper.Length > 0 ? [DaemonBinary()] : []))
        {
            info.ArgumentList.Add(arg);
        }

        var config = Path.Combine(_directory, "livepatchd.json");
        File.WriteAllText(config, "{}");
        foreach (var arg in (string[])["--config", config, "--host-root", _fixture.Root, "--socket", SocketPath,
                     "--state-dir", Path.Combine(_directory, "state"), "--no-dbus", "Watch:IdleInterval=00:00:00.050"])
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_ROOT"] = DotnetRoot();
        // Nothing from the runner's environment may configure the daemon (LIVEPATCHD_*) or the service manager.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("LIVEPATCHD_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var name in (string[])["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"])
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start");
        // Drain both pipes so the daemon never blocks on a full one.
        _ = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
        return process;
    }

    private static async Task<int> WaitForExitAsync(Process process)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(limit.Token);
        return process.ExitCode;
    }

    private static async Task SignalAsync(Process process, string signal)
    {
        var run = await ToolProcess.RunAsync("kill", ["-" + signal, process.Id.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(run.ExitCode == 0, run.ToString());
    }

    /// <summary>The open flags of a descriptor of another process, from /proc/&lt;pid&gt;/fdinfo (octal).</summary>
    private static long ReadFdFlags(int pid, int fd)
    {
        var line = File.ReadLines($"/proc/{pid}/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
        return Convert.ToInt64(line["flags:".Length..].Trim(), 8);
    }

    internal static string DaemonBinary()
    {
        var underTest = Environment.GetEnvironmentVariable("DAEMON_UNDER_TEST");
        return string.IsNullOrEmpty(underTest) ? Path.Combine(AppContext.BaseDirectory, "livepatchd") : underTest;
    }

    // .../dotnet/shared/Microsoft.NETCore.App/<version>/ -> .../dotnet
    internal static string DotnetRoot() =>
        Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));

    private static string CreateDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "lps-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(directory);
        return directory;
    }
}

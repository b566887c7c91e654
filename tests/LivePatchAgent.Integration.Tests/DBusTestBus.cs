using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// A private dbus-daemon for one test: the system bus's default policy (deny owning and calling, allow signals
/// and replies), with the repository's systemd/dbus-1/org.livepatchd.Agent1.conf included, so the tests exercise
/// the policy that ships. It can be killed and started again on the same address.
/// </summary>
internal sealed class DBusTestBus : IAsyncDisposable
{
    public const string Name = "org.livepatchd.Agent1";
    public const string ObjectPath = "/org/livepatchd/Agent1";
    public const string Interface = "org.livepatchd.Agent1";

    private Process? _daemon;

    private DBusTestBus(string directory)
    {
        Directory = directory;
        SocketPath = Path.Combine(directory, "bus.sock");
        ConfigFile = Path.Combine(directory, "bus.conf");
    }

    public string Directory { get; }

    public string SocketPath { get; }

    public string ConfigFile { get; }

    public string Address => $"unix:path={SocketPath}";

    /// <summary>Writes the configuration; the bus is not started yet (a test may start the daemon first).</summary>
    public static DBusTestBus Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), "lpbus-" + Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(directory);
        // Non-root clients (the policy tests) must reach the socket.
        File.SetUnixFileMode(directory, (UnixFileMode)Convert.ToInt32("755", 8));
        var bus = new DBusTestBus(directory);
        File.WriteAllText(bus.ConfigFile, bus.Configuration());
        return bus;
    }

    public static async Task<DBusTestBus> StartAsync()
    {
        var bus = Create();
        await bus.StartDaemonAsync();
        return bus;
    }

    /// <summary>Starts dbus-daemon and returns once it prints its address, i.e. listens.</summary>
    public async Task StartDaemonAsync()
    {
        var info = new ProcessStartInfo("dbus-daemon")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["--config-file=" + ConfigFile, "--print-address", "--nofork"])
        {
            info.ArgumentList.Add(arg);
        }

        _daemon = Process.Start(info) ?? throw new InvalidOperationException("dbus-daemon did not start");
        var line = await _daemon.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
        if (line is null || !line.StartsWith($"unix:path={SocketPath}", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"dbus-daemon printed \"{line}\": {await _daemon.StandardError.ReadToEndAsync()}");
        }
    }

    /// <summary>Kills the bus (SIGKILL), as a crash would; every client loses its connection.</summary>
    public async Task KillAsync()
    {
        if (_daemon is { HasExited: false } daemon)
        {
            daemon.Kill();
            await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }

        _daemon?.Dispose();
        _daemon = null;
    }

    public Task<ToolRun> BusctlAsync(params string[] args) => ToolProcess.RunAsync("busctl", ["--address=" + Address, .. args]);

    public Task<ToolRun> GdbusAsync(params string[] args) => ToolProcess.RunAsync("gdbus", [args[0], "--address", Address, .. args[1..]]);

    /// <summary>`busctl get-property` of one property of org.livepatchd.Agent1, e.g. "s \"idle\"".</summary>
    public async Task<string> GetPropertyAsync(string property)
    {
        var run = await BusctlAsync("get-property", Name, ObjectPath, Interface, property);
        Assert.True(run.ExitCode == 0, $"get-property {property}: {run}");
        return run.Out.TrimEnd('\n');
    }

    /// <summary>True when some connection owns org.livepatchd.Agent1 on this bus.</summary>
    public async Task<bool> NameHasOwnerAsync()
    {
        var run = await BusctlAsync("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s", Name);
        return run.ExitCode == 0 && run.Out.Trim() == "b true";
    }

    /// <summary>Starts `gdbus monitor --dest org.livepatchd.Agent1` and returns once it watches the owner.</summary>
    public async Task<BusMonitor> MonitorAsync()
    {
        var monitor = new BusMonitor(ToolProcess.Start("gdbus", ["monitor", "--address", Address, "--dest", Name]));
        // gdbus subscribes before it prints that it monitors; the owner line follows when the name has one.
        await monitor.WaitForLineAsync(l => l.StartsWith("Monitoring signals", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        return monitor;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The system bus's default policy plus ours (TestData/private-system-bus.conf.in, shared with tests/cockpit).</summary>
    private string Configuration() =>
        File.ReadAllText(TestData.PathOf("private-system-bus.conf.in"))
            .Replace("@SOCKET@", SocketPath, StringComparison.Ordinal)
            .Replace("@POLICY@", RepositoryFile("systemd/dbus-1/org.livepatchd.Agent1.conf"), StringComparison.Ordinal);

    public static string RepositoryFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>A running `gdbus monitor` whose lines are read as they come.</summary>
internal sealed class BusMonitor : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _seen = [];

    public BusMonitor(Process process)
    {
        _process = process;
        _ = Task.Run(async () =>
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (_seen)
                {
                    _seen.Add(line);
                }

                await _lines.Writer.WriteAsync(line);
            }

            _lines.Writer.TryComplete();
        });
    }

    /// <summary>Every line so far, for assertion messages.</summary>
    public string Transcript
    {
        get
        {
            lock (_seen)
            {
                return string.Join('\n', _seen);
            }
        }
    }

    /// <summary>Reads lines until one matches; fails after <paramref name="timeout"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        using var cts = new CancellationTokenSource(limit);
        try
        {
            while (await _lines.Reader.WaitToReadAsync(cts.Token))
            {
                while (_lines.Reader.TryRead(out var line))
                {
                    if (match(line))
                    {
                        return line;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        throw new TimeoutException($"gdbus monitor printed no matching line within {limit}; it printed:\n{Transcript}");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}

/// <summary>One finished run of a command-line tool.</summary>
internal sealed record ToolRun(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}--- stderr\n{Error}";
}

/// <summary>Runs the Debian tools the D-Bus and systemd tests use (busctl, gdbus, setpriv, systemd-analyze).</summary>
internal static class ToolProcess
{
    public static async Task<ToolRun> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        using var process = Start(file, args);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish");
        }

        return new ToolRun(process.ExitCode, await output, await error);
    }

    /// <summary>Runs the tool as uid/gid 65534 (nobody), with no supplementary groups.</summary>
    public static Task<ToolRun> RunAsNobodyAsync(string file, params string[] args) =>
        RunAsync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", file, .. args]);

    public static Process Start(string file, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // Plain output, whatever the environment of the test runner says.
        info.Environment["LANG"] = "C.UTF-8";
        info.Environment["SYSTEMD_COLORS"] = "0";
        info.Environment["SYSTEMD_PAGER"] = "cat";
        return Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

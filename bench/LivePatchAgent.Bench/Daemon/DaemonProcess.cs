using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Grpc.Core;
using LivePatchAgent.Bench.Measurement;
using LivePatchAgent.Client;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Bench.Daemon;

/// <summary>How to start livepatchd for a measurement.</summary>
/// <param name="Executable">livepatchd (the Native AOT binary) or livepatchd.dll (run with dotnet).</param>
/// <param name="HostRoot">The fixture root it reads instead of /.</param>
/// <param name="Settings">Extra Section:Key=value settings; none means the defaults, poll intervals included.</param>
internal sealed record DaemonLaunch(string Executable, string HostRoot, IReadOnlyList<string> Settings)
{
    /// <summary>NOTIFY_SOCKET for the daemon; null starts it without one.</summary>
    public string? NotifySocket { get; init; }
}

/// <summary>
/// livepatchd as a child process on a temporary socket and state directory, without D-Bus, with the systemd
/// variables of the harness's own environment removed so only <see cref="DaemonLaunch.NotifySocket"/> reaches it.
/// </summary>
internal sealed partial class DaemonProcess : IAsyncDisposable
{
    private const int Sigterm = 15;
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private DaemonProcess(Process process, string directory, long startedAt)
    {
        _process = process;
        Directory = directory;
        StartedAt = startedAt;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_stderr)
            {
                // Keep the head: the first lines say why a start failed.
                if (_stderr.Length < 64 * 1024)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    /// <summary>The temporary directory holding the socket, state directory and config file.</summary>
    public string Directory { get; }

    public string SocketPath => Path.Combine(Directory, "livepatchd.sock");

    public int Pid => _process.Id;

    /// <summary>The <see cref="Stopwatch.GetTimestamp"/> taken right before the process was started.</summary>
    public long StartedAt { get; }

    public bool HasExited => _process.HasExited;

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static DaemonProcess Start(DaemonLaunch launch)
    {
        // Short: sun_path holds 107 bytes.
        var directory = Path.Combine(Path.GetTempPath(), "lpb-" + Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(directory);
        var config = Path.Combine(directory, "livepatchd.json");
        File.WriteAllText(config, "{}");

        var info = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        if (launch.Executable.EndsWith(".dll", StringComparison.Ordinal))
        {
            info.FileName = "dotnet";
            info.ArgumentList.Add(launch.Executable);
        }
        else
        {
            info.FileName = launch.Executable;
        }

        string[] args =
        [
            "--config", config,
            "--host-root", launch.HostRoot,
            "--socket", Path.Combine(directory, "livepatchd.sock"),
            "--state-dir", Path.Combine(directory, "state"),
            "--no-dbus",
            // Every benchmark client runs as this one uid; the per-uid limits (security.md) would refuse the 64
            // clients and 64 watch streams of the load and gRPC suites, as they are meant to. Raised here only.
            "Limits:MaxConnectionsPerUid=1024",
            "Limits:MaxWatchStreamsPerUid=1024",
            "Limits:MaxConnections=2048",
            .. launch.Settings,
        ];
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var name in new[] { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM", "INVOCATION_ID" })
        {
            info.Environment.Remove(name);
        }

        if (launch.NotifySocket is { } notify)
        {
            info.Environment["NOTIFY_SOCKET"] = notify;
        }

        var startedAt = Stopwatch.GetTimestamp();
        var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {launch.Executable}");
        process.StandardInput.Close();
        return new DaemonProcess(process, directory, startedAt);
    }

    /// <summary>Waits until GetStatus answers on the socket.</summary>
    public async Task WaitUntilServingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var channel = AgentChannel.Create(SocketPath);
        var client = new Agent.AgentClient(channel);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"livepatchd exited with {_process.ExitCode} before serving:\n{StandardError}");
            }

            if (File.Exists(SocketPath))
            {
                try
                {
                    await client.GetStatusAsync(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken);
                    return;
                }
                catch (RpcException) when (watch.Elapsed < timeout)
                {
                }
            }

            if (watch.Elapsed > timeout)
            {
                throw new TimeoutException($"livepatchd did not serve on {SocketPath} within {timeout}:\n{StandardError}");
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    public ProcessSample Sample() => ProcessSample.Read(Pid, Stopwatch.GetElapsedTime(StartedAt));

    /// <summary>Stops the daemon as systemd does (SIGTERM) and returns its exit code; SIGKILL after 15 s.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, Sigterm);
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

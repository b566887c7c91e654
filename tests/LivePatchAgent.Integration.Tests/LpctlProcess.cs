using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;

namespace LivePatchAgent.Integration.Tests;

/// <summary>What one lpctl run left behind.</summary>
internal sealed record LpctlRun(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}--- stderr\n{Error}";

    /// <summary>
    /// For a failed `-o json` run: stdout is one JSON document (schemaVersion 1) whose error member says why;
    /// returns error.reason. Fails the test if stdout is anything else.
    /// </summary>
    public string JsonErrorReason()
    {
        using var document = System.Text.Json.JsonDocument.Parse(Out);
        var root = document.RootElement;
        Xunit.Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        var error = root.GetProperty("error");
        Xunit.Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()), ToString());
        return error.GetProperty("reason").GetString()!;
    }
}

/// <summary>
/// Runs lpctl as a child process, as users and monitoring do. By default that is the build output next to the
/// tests (the test project references the Cli project); set LPCTL_UNDER_TEST to a path to test another binary,
/// e.g. the Native AOT one from `make publish`.
/// </summary>
internal static class LpctlProcess
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    public static async Task<LpctlRun> RunAsync(params string[] args) => await RunAsync(args, environment: null);

    public static async Task<LpctlRun> RunAsync(string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        using var process = Process.Start(StartInfo(args, environment))
            ?? throw new InvalidOperationException("lpctl did not start");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(RunTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"lpctl {string.Join(' ', args)} did not finish within {RunTimeout}");
        }

        return new LpctlRun(process.ExitCode, await output, await error);
    }

    /// <summary>Starts a long-running lpctl (watch) whose stdout lines can be read as they come.</summary>
    public static LpctlWatch Start(params string[] args) => new(Process.Start(StartInfo(args, null))
        ?? throw new InvalidOperationException("lpctl did not start"));

    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };

        var underTest = Environment.GetEnvironmentVariable("LPCTL_UNDER_TEST");
        // lpctl's own build output, not the copy next to the tests: this test project runs on the ASP.NET Core
        // shared framework (it hosts the daemon), so the packages lpctl needs are not copied here.
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var cliDir = Path.GetFullPath(Path.Combine(testDir.FullName, "../../../../../src/LivePatchAgent.Cli/bin", testDir.Parent!.Name, testDir.Name));
        var appHost = Path.Combine(cliDir, "lpctl");
        if (!string.IsNullOrEmpty(underTest))
        {
            info.FileName = underTest;
        }
        else if (File.Exists(appHost))
        {
            info.FileName = appHost;
            // The apphost finds the runtime through DOTNET_ROOT when it is not in a default location.
            if (string.IsNullOrEmpty(info.Environment.TryGetValue("DOTNET_ROOT", out var root) ? root : null))
            {
                info.Environment["DOTNET_ROOT"] = DotnetRoot();
            }
        }
        else
        {
            info.FileName = "dotnet";
            info.ArgumentList.Add(Path.Combine(cliDir, "lpctl.dll"));
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The ambient environment must not choose the socket for a test.
        info.Environment.Remove("LPCTL_SOCKET");
        info.Environment["TZ"] = "UTC";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return info;
    }

    // .../dotnet/shared/Microsoft.NETCore.App/<version>/ -> .../dotnet
    private static string DotnetRoot() =>
        Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
}

/// <summary>A running lpctl whose stdout is read line by line.</summary>
internal sealed class LpctlWatch : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _error = new();
    private readonly Task _readOutput;
    private readonly Task _readError;

    public LpctlWatch(Process process)
    {
        _process = process;
        _process.StandardInput.Close();
        _readOutput = Task.Run(async () =>
        {
            try
            {
                while (await _process.StandardOutput.ReadLineAsync() is { } line)
                {
                    await _lines.Writer.WriteAsync(line);
                }
            }
            finally
            {
                _lines.Writer.TryComplete();
            }
        });
        _readError = Task.Run(async () =>
        {
            var text = await _process.StandardError.ReadToEndAsync();
            lock (_error)
            {
                _error.Append(text);
            }
        });
    }

    public int Pid => _process.Id;

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    /// <summary>The next stdout line; null when none came within <paramref name="timeout"/> or stdout ended.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            return await _lines.Reader.ReadAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <summary>Every stdout line not read yet, once lpctl has exited (call after <see cref="WaitForExitAsync"/>).</summary>
    public string RemainingOutput()
    {
        var text = new StringBuilder();
        while (_lines.Reader.TryRead(out var line))
        {
            text.Append(line).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Reads lines until one matches, or fails after <paramref name="timeout"/>.</summary>
    public async Task<string> ReadUntilAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var seen = new List<string>();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            var line = await ReadLineAsync(timeout - watch.Elapsed);
            if (line is null)
            {
                break;
            }

            if (match(line))
            {
                return line;
            }

            seen.Add(line);
        }

        throw new TimeoutException($"no matching line within {timeout}; saw:\n{string.Join('\n', seen)}\nstderr:\n{Error}");
    }

    /// <summary>Sends a signal to this lpctl (by its pid), e.g. TERM as systemd or `timeout` would.</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    /// <summary>Waits for lpctl to exit; returns its exit code, or null when it is still running after the timeout.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        await Task.WhenAny(Task.WhenAll(_readOutput, _readError), Task.Delay(TimeSpan.FromSeconds(5)));
        return _process.ExitCode;
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

using System.Diagnostics;
using System.Text.Json;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The load test tool (bench/load, `lpbench load`) run as `make bench-load` runs it, only shorter and smaller, against
/// the daemon's build output (LIVEPATCHD_UNDER_TEST names another, e.g. the Native AOT one). Checks that the report
/// is produced and its figures are sane; never how fast anything was.
/// </summary>
public sealed class LoadToolTests
{
    [Fact]
    public async Task A_short_run_reports_every_figure_and_passes()
    {
        var json = Path.Combine(Path.GetTempPath(), "lpbench-" + Guid.NewGuid().ToString("N")[..10] + ".json");
        try
        {
            var run = await RunAsync(
                "load", "--daemon", Daemon(), "--json", json, "--duration", "3", "--streams", "4", "--status-clients", "2",
                "--churn-interval", "30", "--patches", "3", "--functions", "5",
                // Fast polling, so a 3 s run sees many changes; the defaults are what make bench-load measures.
                "--daemon-setting", "Watch:IdleInterval=00:00:00.050", "--daemon-setting", "Watch:TransitionInterval=00:00:00.020");

            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("events lost by non-lagged subscribers", run.Out, StringComparison.Ordinal);
            using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var root = report.RootElement;
            var requests = root.GetProperty("requests");
            Assert.Equal(0, requests.GetProperty("errors").GetInt64());
            Assert.Equal(4, requests.GetProperty("watchStreams").GetInt32());
            Assert.True(requests.GetProperty("getStatusCalls").GetInt64() > 0, run.ToString());
            Assert.Equal(requests.GetProperty("getStatusCalls").GetInt64() + 4, requests.GetProperty("total").GetInt64());

            var latency = root.GetProperty("getStatus");
            Assert.True(latency.GetProperty("p50Ms").GetDouble() > 0);
            Assert.True(latency.GetProperty("p99Ms").GetDouble() >= latency.GetProperty("p50Ms").GetDouble());
            Assert.True(latency.GetProperty("throughputPerSecond").GetDouble() > 0);

            var daemon = root.GetProperty("daemon");
            Assert.True(daemon.GetProperty("rssStartMiB").GetDouble() > 1);
            Assert.True(daemon.GetProperty("rssEndMiB").GetDouble() > 1);
            Assert.True(daemon.GetProperty("rssPeakMiB").GetDouble() >= daemon.GetProperty("rssEndMiB").GetDouble());
            Assert.Equal(0, daemon.GetProperty("exitCode").GetInt32());

            // The churn made changes and every subscriber saw every one of the events they caused.
            var events = root.GetProperty("events");
            Assert.True(root.GetProperty("churnSteps").GetProperty("add-in-transition").GetInt32() > 0);
            Assert.True(events.GetProperty("published").GetInt64() > 0, run.ToString());
            Assert.Equal(4, events.GetProperty("subscribers").GetInt32());
            Assert.Equal(0, events.GetProperty("lostByNonLagged").GetInt64());
            Assert.Equal(0, events.GetProperty("mismatched").GetInt64());
            Assert.Equal(events.GetProperty("published").GetInt64(), events.GetProperty("minReceived").GetInt64());
            Assert.True(root.GetProperty("passed").GetBoolean());
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public async Task A_daemon_that_cannot_start_fails_the_run_with_its_reason()
    {
        var json = Path.Combine(Path.GetTempPath(), "lpbench-" + Guid.NewGuid().ToString("N")[..10] + ".json");
        var run = await RunAsync("load", "--daemon", Daemon(), "--json", json, "--duration", "1", "--streams", "1",
            "--daemon-setting", "Watch:IdleInterval=soon");

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("Watch:IdleInterval", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(json));
    }

    private static string Daemon() =>
        Environment.GetEnvironmentVariable("LIVEPATCHD_UNDER_TEST") is { Length: > 0 } underTest
            ? underTest
            : Path.Combine(BuildOutput("src/LivePatchAgent.Daemon"), "livepatchd.dll");

    /// <summary>A project's build output of the same configuration as this test assembly's.</summary>
    private static string BuildOutput(string project)
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        return Path.GetFullPath(Path.Combine(testDir.FullName, "../../../../..", project, "bin", testDir.Parent!.Name, testDir.Name));
    }

    private static async Task<LpctlRun> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(BuildOutput("bench/LivePatchAgent.Bench"), "lpbench.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("lpbench did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return new LpctlRun(process.ExitCode, await output, await error);
    }
}

using System.Diagnostics;
using System.Text.Json;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// lpctl watch as a process against the real daemon. The kernel tree is a fixture; a change to it (the taint
/// mask, a transition flag) becomes an event within the harness's fast poll interval.
/// </summary>
public sealed class LpctlWatchTests : IDisposable
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(10);

    private readonly SysfsFixture _fixture = SysfsFixture.Create();
    private ulong _taint;

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Json_watch_prints_the_transition_completion_as_one_json_line()
    {
        _fixture.AddPatch("lpdemo_v1", transition: true).Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        using var watch = LpctlProcess.Start("--socket", daemon.SocketPath, "-o", "json", "watch");
        var probe = await WaitUntilSubscribedAsync(watch);

        _fixture.SetTransition("lpdemo_v1", false);
        var flipped = Stopwatch.StartNew();
        var line = await watch.ReadUntilAsync(l => l.Contains("\"kind\":\"transition-completed\"", StringComparison.Ordinal), EventTimeout);
        flipped.Stop();

        using var json = JsonDocument.Parse(line);
        var e = json.RootElement;
        Assert.Equal(1, e.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("lpdemo_v1", e.GetProperty("patch").GetString());
        Assert.Equal("enabling", e.GetProperty("fromState").GetString());
        Assert.Equal("enabled", e.GetProperty("toState").GetString());
        Assert.True(e.GetProperty("time").TryGetDateTimeOffset(out _));
        Assert.False(string.IsNullOrEmpty(e.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.Null, e.GetProperty("kernelRelease").ValueKind);
        using var probeJson = JsonDocument.Parse(probe);
        Assert.Equal("taint-changed", probeJson.RootElement.GetProperty("kind").GetString());
        Assert.True(e.GetProperty("sequence").GetUInt64() > probeJson.RootElement.GetProperty("sequence").GetUInt64());
        // The bar is 1 s with the default 100 ms transition poll; the harness polls faster still.
        Assert.True(flipped.Elapsed < TimeSpan.FromSeconds(5), $"completion took {flipped.Elapsed}");
    }

    [Fact]
    public async Task Table_watch_prints_time_kind_patch_and_message_per_line()
    {
        _fixture.AddPatch("lpdemo_v1", transition: true).Object("vmlinux").Function("cmdline_proc_show");
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        using var watch = LpctlProcess.Start("--socket", daemon.SocketPath, "watch");
        var probe = await WaitUntilSubscribedAsync(watch);

        _fixture.SetTransition("lpdemo_v1", false);
        var line = await watch.ReadUntilAsync(l => l.Contains("transition-completed", StringComparison.Ordinal), EventTimeout);

        Assert.Matches(@"^\d\d:\d\d:\d\d\.\d{3}  taint-changed {7}  - {15}  \S", probe);
        Assert.Matches(@"^\d\d:\d\d:\d\d\.\d{3}  transition-completed  lpdemo_v1 {7}  \S", line);
    }

    [Fact]
    public async Task Count_makes_watch_exit_0_after_that_many_events()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        using var watch = LpctlProcess.Start("--socket", daemon.SocketPath, "-o", "json", "watch", "--count", "2");

        // Keep producing events until lpctl has had its two; it may subscribe after the first few.
        int? exitCode = null;
        for (var deadline = Stopwatch.StartNew(); exitCode is null && deadline.Elapsed < TimeSpan.FromSeconds(30);)
        {
            _fixture.WithTaint(++_taint);
            exitCode = await watch.WaitForExitAsync(TimeSpan.FromMilliseconds(300));
        }

        Assert.True(exitCode == 0, $"exit {exitCode}: {watch.Error}");
        var lines = new List<string>();
        while (await watch.ReadLineAsync(TimeSpan.FromSeconds(1)) is { } line)
        {
            lines.Add(line);
        }

        Assert.Equal(2, lines.Count);
        Assert.All(lines, l => Assert.Equal(1, JsonDocument.Parse(l).RootElement.GetProperty("schemaVersion").GetInt32()));
        Assert.Equal("", watch.Error);
    }

    [Fact]
    public async Task Timeout_without_count_ends_the_watch_with_exit_0()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var started = Stopwatch.StartNew();
        var run = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "watch", "--timeout", "1");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(1), $"returned after {started.Elapsed}");
        Assert.Equal("", run.Out);
        Assert.Equal("", run.Error);
    }

    [Fact]
    public async Task Timeout_before_count_events_arrive_exits_1()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var run = await LpctlProcess.RunAsync("--socket", daemon.SocketPath, "watch", "--count", "3", "--timeout", "0.5");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal("", run.Out);
        Assert.Equal("lpctl: timed out after 0.5s with 0 of 3 events\n", run.Error);
    }

    [Fact]
    public async Task Sigterm_ends_the_watch_with_exit_0()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        using var watch = LpctlProcess.Start("--socket", daemon.SocketPath, "watch");
        await WaitUntilSubscribedAsync(watch);

        await watch.SignalAsync("TERM");

        var exitCode = await watch.WaitForExitAsync(TimeSpan.FromSeconds(10));
        Assert.True(exitCode == 0, $"exit {exitCode}: {watch.Error}");
        Assert.Equal("", watch.Error);
    }

    [Fact]
    public async Task Watch_stops_when_the_reader_of_its_output_goes_away()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        using var process = Process.Start(LpctlProcess.StartInfo(["--socket", daemon.SocketPath, "watch"], null))!;
        try
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var first = process.StandardOutput.ReadLineAsync();
            while (!first.IsCompleted)
            {
                _fixture.WithTaint(++_taint);
                await Task.WhenAny(first, Task.Delay(500));
            }

            Assert.NotNull(await first);

            // As `lpctl watch | head -1` does once head has its line.
            process.StandardOutput.Close();
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (!process.HasExited && !limit.IsCancellationRequested)
            {
                _fixture.WithTaint(++_taint);
                await Task.WhenAny(process.WaitForExitAsync(limit.Token), Task.Delay(300));
            }

            Assert.True(process.HasExited, "lpctl watch kept running with nobody reading its output");
            Assert.Equal(0, process.ExitCode);
            Assert.Equal("", await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task Watch_fails_with_a_message_when_the_daemon_goes_away()
    {
        var daemon = await DaemonHarness.StartAsync(_fixture);
        await using (daemon)
        {
            using var watch = LpctlProcess.Start("--socket", daemon.SocketPath, "watch");
            await WaitUntilSubscribedAsync(watch);

            await daemon.StopAsync();

            var exitCode = await watch.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.True(exitCode is 1 or 3, $"exit {exitCode}: {watch.Error}");
            Assert.StartsWith("lpctl: ", watch.Error, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Changes the taint mask until lpctl prints the resulting event: from then on lpctl is subscribed, and a
    /// change made by the test cannot happen before lpctl listens. Returns the probe event's line.
    /// </summary>
    private async Task<string> WaitUntilSubscribedAsync(LpctlWatch watch)
    {
        for (var deadline = Stopwatch.StartNew(); deadline.Elapsed < TimeSpan.FromSeconds(30);)
        {
            _fixture.WithTaint(++_taint);
            if (await watch.ReadLineAsync(TimeSpan.FromSeconds(2)) is { } line)
            {
                Assert.Contains("taint-changed", line, StringComparison.Ordinal);
                return line;
            }
        }

        throw new TimeoutException($"lpctl watch printed no event within 30 s; stderr: {watch.Error}");
    }
}

using System.Diagnostics;
using LivePatchAgent.Bench.Daemon;
using LivePatchAgent.Bench.Measurement;

namespace LivePatchAgent.Bench.Suites;

/// <summary>
/// (1) lpctl end to end, process start to exit, against a running daemon, as a ratio to a Native AOT hello-world
/// timed in the same rounds (interleaved, so a burst of load on the shared machine hits all three alike).
/// </summary>
internal static class CliSuite
{
    public static async Task<IReadOnlyList<BenchRow>> RunAsync(SuiteContext context)
    {
        var settings = context.Settings;
        using var fixture = SuiteContext.Tree(3, 10);
        await using var daemon = DaemonProcess.Start(new DaemonLaunch(settings.Daemon, fixture.Root, []));
        await daemon.WaitUntilServingAsync(TimeSpan.FromSeconds(30), context.CancellationToken).ConfigureAwait(false);

        (string Name, string File, string[] Args)[] commands =
        [
            ("hello-world", settings.Hello, []),
            ("lpctl status", settings.Lpctl, ["--socket", daemon.SocketPath, "status"]),
            ("lpctl -o json list", settings.Lpctl, ["--socket", daemon.SocketPath, "-o", "json", "list"]),
        ];
        var samples = commands.ToDictionary(c => c.Name, _ => new List<double>());
        var runs = context.Runs(40, 10);
        context.Log.WriteLine($"cli: {runs} rounds of {string.Join(", ", commands.Select(c => c.Name))}");
        for (var round = -3; round < runs; round++)
        {
            // Rotate the order each round; the first three rounds only warm the page cache.
            for (var i = 0; i < commands.Length; i++)
            {
                var (name, file, args) = commands[(i + Math.Max(round, 0)) % commands.Length];
                var ms = await TimeProcessAsync(file, args, context.CancellationToken).ConfigureAwait(false);
                if (round >= 0)
                {
                    samples[name].Add(ms);
                }
            }
        }

        var hello = Distribution.Of(samples["hello-world"]);
        var status = Distribution.Of(samples["lpctl status"]);
        var list = Distribution.Of(samples["lpctl -o json list"]);
        return
        [
            BenchRow.From("cli", "hello-world (Native AOT)", "start to exit", "ms", hello),
            BenchRow.From("cli", "lpctl status", "start to exit", "ms", status),
            BenchRow.From("cli", "lpctl -o json list", "start to exit", "ms", list),
            new BenchRow("cli", "lpctl status", "ratio to hello-world", "x", status.Median / hello.Median, status.P99 / hello.P99, status.Count)
                .Held("<= 2x", status.Median / hello.Median <= 2),
            new BenchRow("cli", "lpctl -o json list", "ratio to hello-world", "x", list.Median / hello.Median, list.P99 / hello.P99, list.Count),
        ];
    }

    /// <summary>Milliseconds from Process.Start to the exit, stdout and stderr read; fails on a non-zero exit.</summary>
    private static async Task<double> TimeProcessAsync(string file, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var begin = Stopwatch.GetTimestamp();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
        if (process.ExitCode != 0 || (await output.ConfigureAwait(false)).Length == 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await error.ConfigureAwait(false)}");
        }

        return elapsed;
    }
}

using System.Diagnostics;
using LivePatchAgent.Bench.Daemon;
using LivePatchAgent.Bench.Measurement;

namespace LivePatchAgent.Bench.Suites;

/// <summary>
/// (2) livepatchd from process start to READY=1 on a NOTIFY_SOCKET bound here, then idle RSS and CPU at the
/// default poll interval, with an empty tree and with 20 patches x 50 functions. The two idle daemons run side by
/// side, so the idle window is paid once.
/// </summary>
internal static class StartupSuite
{
    private static readonly (string Name, int Patches, int Functions)[] Trees = [("empty tree", 0, 0), ("20 patches x 50 functions", 20, 50)];

    public static async Task<IReadOnlyList<BenchRow>> RunAsync(SuiteContext context)
    {
        var rows = new List<BenchRow>();
        var runs = context.Runs(15, 5);
        foreach (var (name, patches, functions) in Trees)
        {
            using var fixture = SuiteContext.Tree(patches, functions);
            var ready = new List<double>();
            var rss = new List<double>();
            for (var run = 0; run < runs + 1; run++)
            {
                var (readyMs, daemon) = await StartToReadyAsync(context, fixture.Root).ConfigureAwait(false);
                await using (daemon.ConfigureAwait(false))
                {
                    // The first start warms the page cache with the binary; it is not counted.
                    if (run > 0)
                    {
                        ready.Add(readyMs);
                        rss.Add(daemon.Sample().RssMiB);
                    }
                }
            }

            context.Log.WriteLine($"startup: {name}: READY median {Distribution.Of(ready).Median:0.0} ms");
            var readyRow = BenchRow.From("startup", name, "start to READY=1", "ms", Distribution.Of(ready));
            rows.Add(readyRow.Held("<= 300 ms", readyRow.Median <= 300));
            rows.Add(BenchRow.From("startup", name, "RSS at READY", "MiB", Distribution.Of(rss)));
        }

        var idleSeconds = context.Settings.IdleSeconds;
        context.Log.WriteLine($"startup: idle RSS and CPU over {idleSeconds:0} s, both trees at once");
        var idle = await Task.WhenAll(Trees.Select(t => IdleAsync(context, t.Name, t.Patches, t.Functions, idleSeconds))).ConfigureAwait(false);
        rows.AddRange(idle.SelectMany(r => r));
        return rows;
    }

    private static async Task<(double ReadyMs, DaemonProcess Daemon)> StartToReadyAsync(SuiteContext context, string root)
    {
        using var notify = SystemdNotifySocket.Abstract();
        long readyAt = 0;
        notify.OnReceived = m =>
        {
            if (m.Is("READY", "1"))
            {
                Interlocked.CompareExchange(ref readyAt, Stopwatch.GetTimestamp(), 0);
            }
        };
        var daemon = DaemonProcess.Start(new DaemonLaunch(context.Settings.Daemon, root, []) { NotifySocket = notify.Address });
        try
        {
            await notify.WaitForAsync(m => m.Is("READY", "1"), TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            await daemon.DisposeAsync().ConfigureAwait(false);
            throw new TimeoutException($"{e.Message}\nlivepatchd stderr:\n{daemon.StandardError}", e);
        }

        return (Stopwatch.GetElapsedTime(daemon.StartedAt, Interlocked.Read(ref readyAt)).TotalMilliseconds, daemon);
    }

    private static async Task<IReadOnlyList<BenchRow>> IdleAsync(SuiteContext context, string name, int patches, int functions, double seconds)
    {
        using var fixture = SuiteContext.Tree(patches, functions);
        var (_, daemon) = await StartToReadyAsync(context, fixture.Root).ConfigureAwait(false);
        await using (daemon.ConfigureAwait(false))
        {
            // Let start-up work (start-up apply, the first polls) finish before the idle window opens.
            await Task.Delay(TimeSpan.FromSeconds(3), context.CancellationToken).ConfigureAwait(false);
            var start = daemon.Sample();
            var rss = new List<double>();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), context.CancellationToken).ConfigureAwait(false);
                rss.Add(daemon.Sample().RssMiB);
            }

            var end = daemon.Sample();
            var cpu = ProcessSample.CpuPercent(start, end);
            var rssRow = BenchRow.From("startup", name, $"idle RSS ({seconds:0} s)", "MiB", Distribution.Of(rss));
            return
            [
                rssRow.Held("<= 30 MiB", rssRow.Median <= 30),
                (new BenchRow("startup", name, $"idle CPU ({seconds:0} s)", "%", cpu, null, 1)
                    { Note = $"{end.CpuSeconds - start.CpuSeconds:0.00} s of CPU in {(end.At - start.At).TotalSeconds:0} s" })
                    .Held("<= 0.5% of a core", cpu <= 0.5),
            ];
        }
    }
}

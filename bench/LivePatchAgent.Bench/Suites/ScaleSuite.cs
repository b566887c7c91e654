using System.Diagnostics;
using System.Globalization;
using LivePatchAgent.Bench.Measurement;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Linux;
using LivePatchAgent.Linux.Procfs;
using LivePatchAgent.Linux.Sysfs;

namespace LivePatchAgent.Bench.Suites;

/// <summary>
/// (3) One snapshot (KernelSnapshotReader.Read, what the watcher does every poll) as the tree grows, and (4) one
/// blocking-task scan (BlockingTaskScanner.Scan) as the thread count grows, both in this process on generated
/// trees after a warm-up. Growth is judged by the marginal cost: the cost per added patch (thread) between the
/// large sizes against that between the small ones; linear growth keeps the two within a factor of 2.
/// </summary>
internal static class ScaleSuite
{
    public static IReadOnlyList<BenchRow> Snapshot(SuiteContext context)
    {
        int[] sizes = [1, 10, 100, 500];
        var medians = new List<(int Size, double Ms)>();
        var rows = new List<BenchRow>();
        foreach (var size in sizes)
        {
            using var fixture = SuiteContext.Tree(size, 20);
            var reader = new KernelSnapshotReader(new HostPaths(fixture.Root), TimeProvider.System);
            var check = reader.Read();
            if (check.Patches.Length != size)
            {
                throw new InvalidOperationException($"the snapshot of {size} patches has {check.Patches.Length}");
            }

            var d = Measure(() => reader.Read(), context.Runs(size >= 100 ? 30 : 100, 10));
            medians.Add((size, d.Median));
            rows.Add(BenchRow.From("snapshot", $"{size} patches x 20 functions", "read", "ms", d) with
            {
                Note = $"{d.Median / size * 1000:0} us per patch",
            });
        }

        context.Log.WriteLine($"snapshot: {string.Join(", ", medians.Select(m => $"{m.Size}: {m.Ms:0.00} ms"))}");
        rows.Add(Growth("snapshot", "patch", medians));
        return rows;
    }

    public static IReadOnlyList<BenchRow> Scan(SuiteContext context)
    {
        int[] sizes = [1_000, 10_000];
        const int threadsPerProcess = 10;
        var medians = new List<(int Size, double Ms)>();
        var rows = new List<BenchRow>();
        foreach (var size in sizes)
        {
            using var fixture = SysfsFixture.Create();
            var patch = new LivePatch { Name = "lpb_scan", Enabled = true, Transition = true };
            for (var tid = 1; tid <= size; tid++)
            {
                var pid = ((tid - 1) / threadsPerProcess * threadsPerProcess) + 1;
                // One thread in a hundred still runs the old code, as in a slow transition.
                var blocking = tid % 100 == 0;
                fixture.AddTask(pid, tid, "worker", blocking ? 0 : 1, blocking ? ["[<0>] pipe_read+0x1a/0x3c0", "[<0>] vfs_read+0x2f/0x1b0"] : []);
            }

            var scanner = new BlockingTaskScanner(new HostPaths(fixture.Root));
            var check = scanner.Scan(targetPatched: true, patch, includeStacks: true);
            if (check.ThreadsScanned != size || check.Tasks.Length != size / 100)
            {
                throw new InvalidOperationException($"the scan of {size} threads saw {check.ThreadsScanned} and {check.Tasks.Length} blocking");
            }

            var d = Measure(() => scanner.Scan(targetPatched: true, patch, includeStacks: true), context.Runs(size >= 10_000 ? 15 : 40, 5));
            medians.Add((size, d.Median));
            rows.Add(BenchRow.From("scan", $"{size.ToString("N0", CultureInfo.InvariantCulture)} threads, 1% blocking", "scan with stacks", "ms", d) with
            {
                Note = $"{d.Median / size * 1000:0.0} us per thread",
            });
        }

        context.Log.WriteLine($"scan: {string.Join(", ", medians.Select(m => $"{m.Size}: {m.Ms:0.0} ms"))}");
        rows.Add(Growth("scan", "thread", medians));
        return rows;
    }

    /// <summary>Runs <paramref name="action"/> a few times untimed, then <paramref name="runs"/> times timed (ms).</summary>
    public static Distribution Measure(Action action, int runs)
    {
        for (var i = 0; i < 3; i++)
        {
            action();
        }

        var samples = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var begin = Stopwatch.GetTimestamp();
            action();
            samples[i] = Stopwatch.GetElapsedTime(begin).TotalMilliseconds;
        }

        return Distribution.Of(samples);
    }

    /// <summary>The marginal cost per unit between the two largest sizes, against that between the first two.</summary>
    private static BenchRow Growth(string suite, string unit, List<(int Size, double Ms)> medians)
    {
        static double Marginal((int Size, double Ms) a, (int Size, double Ms) b) => (b.Ms - a.Ms) / (b.Size - a.Size);

        var small = medians.Count > 2 ? Marginal(medians[0], medians[1]) : medians[0].Ms / medians[0].Size;
        var large = Marginal(medians[^2], medians[^1]);
        var ratio = large / small;
        return (new BenchRow(suite, $"{medians[0].Size}..{medians[^1].Size}", $"marginal cost per {unit}, large/small", "x", ratio, null, medians.Count)
        {
            Note = $"{small * 1000:0.0} us per {unit} between the small sizes, {large * 1000:0.0} us between the large",
        }).Held("linear (0.5x..2x)", ratio is >= 0.5 and <= 2);
    }
}

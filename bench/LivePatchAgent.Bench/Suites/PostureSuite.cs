using System.Globalization;
using LivePatchAgent.Core.Posture;

namespace LivePatchAgent.Bench.Suites;

/// <summary>
/// (issue 16) The advisory posture at 10,000 advisories, in this process: <c>AdvisoryDirectory.Load</c> of 10,000
/// files of one record each (the shape of Debian's and Ubuntu's feeds) and of one file holding all of them as an
/// array (with the file limit raised for it), then <c>PostureEvaluator.Evaluate</c> with 20 live patches. Every advisory is about the host's package
/// (Debian 12 <c>linux</c> at 6.1.192-2), which is the worst case for the evaluation: a quarter fixed below the
/// running version, a quarter fixed above it (half of those declared by the patches), a quarter with no fix, a
/// quarter with a Debian 11 entry next to the Debian 12 one. The version order is dpkg's
/// (<see cref="VersionOrder.ForEcosystem"/>), as the daemon uses it.
/// </summary>
internal static class PostureSuite
{
    private const int Count = 10_000;

    public static IReadOnlyList<BenchRow> Run(SuiteContext context)
    {
        var records = Enumerable.Range(0, Count).Select(Record).ToList();
        using var perFile = OsvFixture.Create();
        foreach (var record in records)
        {
            perFile.Write(record);
        }

        using var oneFile = OsvFixture.Create();
        oneFile.WriteArray("all.json", [.. records]);
        var package = new KernelPackage("Debian:12", "linux", "6.1.192-2");
        var patches = Enumerable.Range(0, 20)
            .Select(p => new PatchClaim($"lpb_{p}", Live: true, Installed: true,
                Enumerable.Range(0, 25).Select(k => Cve(1 + (4 * ((p * 25) + k)))).ToValueArray(), ClaimSource.SignedMetadata))
            .ToList();

        var check = PostureEvaluator.Evaluate(AdvisoryDirectory.Load(perFile.Directory), package, VersionOrder.ForEcosystem, patches);
        // 10,000 records in one file are over the default 8 MiB file limit, as a whole feed in one file would be.
        var wholeFeed = new AdvisoryLoadOptions { MaxFileBytes = 64L * 1024 * 1024 };
        var checkArray = AdvisoryDirectory.Load(oneFile.Directory, wholeFeed);
        if (check.Summary.NotAffected + check.Summary.Open + check.Summary.FixedLive != Count || checkArray.Advisories.Length != Count || !checkArray.Problems.IsEmpty)
        {
            throw new InvalidOperationException($"the posture of {Count} advisories is not what was generated: {check.Summary}");
        }

        var set = AdvisoryDirectory.Load(perFile.Directory);
        var loadFiles = ScaleSuite.Measure(() => AdvisoryDirectory.Load(perFile.Directory), context.Runs(10, 3));
        var loadArray = ScaleSuite.Measure(() => AdvisoryDirectory.Load(oneFile.Directory, wholeFeed), context.Runs(10, 3));
        var evaluate = ScaleSuite.Measure(() => PostureEvaluator.Evaluate(set, package, VersionOrder.ForEcosystem, patches), context.Runs(50, 10));
        // The load and the evaluation run on one thread, so their CPU time is the work itself, whatever else the
        // machine is doing; the wall-clock median is what a caller waits.
        var cpuBefore = Environment.CpuUsage.TotalTime;
        var both = ScaleSuite.Measure(
            () => PostureEvaluator.Evaluate(AdvisoryDirectory.Load(perFile.Directory), package, VersionOrder.ForEcosystem, patches),
            context.Runs(10, 3));
        var cpuPerRun = (Environment.CpuUsage.TotalTime - cpuBefore).TotalMilliseconds / (both.Count + 3);

        // What the daemon keeps: the managed heap the loaded set holds once loading's garbage is collected.
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var retained = AdvisoryDirectory.Load(perFile.Directory);
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(retained);
        var retainedMiB = (heapAfter - heapBefore) / 1024.0 / 1024.0;

        var n = Count.ToString("N0", CultureInfo.InvariantCulture);
        List<BenchRow> rows =
        [
            BenchRow.From("posture", $"{n} files of 1 advisory", "load", "ms", loadFiles) with { Note = $"{loadFiles.Median / Count * 1000:0.0} us per file" },
            BenchRow.From("posture", $"1 file of {n} advisories", "load", "ms", loadArray) with { Note = $"{new FileInfo(oneFile.PathOf("all.json")).Length / 1024.0 / 1024.0:0.0} MiB, MaxFileBytes raised to 64 MiB" },
            BenchRow.From("posture", $"{n} advisories, 20 live patches", "evaluate", "ms", evaluate) with
            {
                Note = $"{check.Summary.Open} open, {check.Summary.FixedLive} fixed-live, {check.Summary.NotAffected} not affected",
            },
            (BenchRow.From("posture", $"{n} files of 1 advisory", "load + evaluate", "ms", both) with
            {
                Note = $"{cpuPerRun:0} ms of CPU per run (user + system, the GC's threads included)",
            }).Held("< 1,000 ms", both.Median < 1000),
            new BenchRow("posture", $"{n} advisories loaded", "managed heap retained", "MiB", retainedMiB, null, 1)
            {
                Note = $"{(heapAfter - heapBefore) / (double)Count:0} bytes per advisory, each with a paragraph of details",
            },
        ];
        context.Log.WriteLine($"posture: load {loadFiles.Median:0} ms ({n} files), {loadArray.Median:0} ms (one file), evaluate {evaluate.Median:0.0} ms");
        return rows;
    }

    private static string Cve(int i) => string.Create(CultureInfo.InvariantCulture, $"CVE-2026-{10_000 + i}");

    private static OsvRecord Record(int i)
    {
        var record = new OsvRecord("DEBIAN-" + Cve(i), "2026-10-01T00:00:00Z")
            .Upstream(Cve(i))
            .Details("In the Linux kernel, the following vulnerability has been resolved:\n\nsubsystem: a fix of some length, as the "
                + "kernel's CVE descriptions are the commit message of the fix, which usually runs to a paragraph or two.")
            .Severity("CVSS_V3", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H");
        var patch = 100 + (i % 90);
        return (i % 4) switch
        {
            0 => record.Affects("Debian:12", "linux", a => a.Introduced("0").Fixed($"6.1.{patch}-1").EcosystemSpecific("urgency", "low")),
            1 => record.Affects("Debian:12", "linux", a => a.Introduced("0").Fixed($"6.1.{193 + (i % 10)}-1").EcosystemSpecific("urgency", "medium")),
            2 => record.Affects("Debian:12", "linux", a => a.Introduced("0").EcosystemSpecific("urgency", "not yet assigned")),
            _ => record
                .Affects("Debian:11", "linux", a => a.Introduced("0").Fixed($"5.10.{patch}-1"))
                .Affects("Debian:12", "linux", a => a.Introduced("6.1.150-1").Fixed("6.1.194-1").EcosystemSpecific("urgency", "high")),
        };
    }
}

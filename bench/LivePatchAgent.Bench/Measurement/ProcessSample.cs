using System.Globalization;

namespace LivePatchAgent.Bench.Measurement;

/// <summary>What /proc says about a process at one moment: resident memory and the CPU time it has used.</summary>
internal sealed record ProcessSample(long RssKiB, long PeakRssKiB, double CpuSeconds, TimeSpan At)
{
    /// <summary>USER_HZ: the unit of utime/stime in /proc/&lt;pid&gt;/stat, 100 on every Linux architecture we build for.</summary>
    private const double ClockTicksPerSecond = 100;

    public double RssMiB => RssKiB / 1024.0;

    public double PeakRssMiB => PeakRssKiB / 1024.0;

    /// <summary>Reads /proc/&lt;pid&gt;/status (VmRSS, VmHWM) and /proc/&lt;pid&gt;/stat (utime + stime).</summary>
    public static ProcessSample Read(int pid, TimeSpan at)
    {
        var proc = Path.Combine("/proc", pid.ToString(CultureInfo.InvariantCulture));
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines(Path.Combine(proc, "status")))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = KiB(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = KiB(line);
            }
        }

        // The command name may hold spaces and parentheses: the fields start after the last ')'.
        var stat = File.ReadAllText(Path.Combine(proc, "stat"));
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 and 15 of stat(5), counted from the state field (3).
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return new ProcessSample(rss, peak, ticks / ClockTicksPerSecond, at);
    }

    /// <summary>CPU used between two samples, as a percentage of one core.</summary>
    public static double CpuPercent(ProcessSample start, ProcessSample end) =>
        (end.CpuSeconds - start.CpuSeconds) / (end.At - start.At).TotalSeconds * 100;

    private static long KiB(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}

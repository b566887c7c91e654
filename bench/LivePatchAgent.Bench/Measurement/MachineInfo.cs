namespace LivePatchAgent.Bench.Measurement;

/// <summary>The machine a result was measured on, and how busy it was: results from a shared 2-core box are noisy.</summary>
internal sealed record MachineInfo(int Cores, string CpuModel, double MemoryGiB, string Kernel, string LoadAverageAtStart)
{
    public string? LoadAverageAtEnd { get; set; }

    public static MachineInfo Read() => new(
        Environment.ProcessorCount,
        FirstValue("/proc/cpuinfo", "model name") ?? "unknown",
        Math.Round((ParseKiB(FirstValue("/proc/meminfo", "MemTotal")) ?? 0) / 1024.0 / 1024.0, 1),
        ReadTrimmed("/proc/sys/kernel/osrelease") ?? Environment.OSVersion.VersionString,
        LoadAverage());

    /// <summary>The 1, 5 and 15 minute load averages.</summary>
    public static string LoadAverage() =>
        string.Join(' ', (ReadTrimmed("/proc/loadavg") ?? string.Empty).Split(' ').Take(3));

    public override string ToString() =>
        $"{Cores} cores, {CpuModel}, {MemoryGiB} GiB, Linux {Kernel}, load {LoadAverageAtStart}";

    private static string? FirstValue(string file, string key) =>
        File.ReadLines(file)
            .Where(l => l.StartsWith(key, StringComparison.Ordinal) && l.Contains(':', StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())
            .FirstOrDefault();

    private static long? ParseKiB(string? value) =>
        value is null ? null : long.Parse(value.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    private static string? ReadTrimmed(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;
}

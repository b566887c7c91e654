using LivePatchAgent.Bench.Measurement;

namespace LivePatchAgent.Bench.Suites;

/// <summary>Runs the chosen suites one after the other (never two at once: they would measure each other).</summary>
internal static class BenchRun
{
    /// <summary>In the order they run: the in-process ones first, the long idle window last.</summary>
    public static readonly string[] SuiteNames = ["verify", "snapshot", "scan", "posture", "cli", "grpc", "events", "startup"];

    public static async Task<BenchReport> RunAsync(BenchSettings settings, TextWriter log, CancellationToken cancellationToken)
    {
        var machine = MachineInfo.Read();
        var startedAt = DateTimeOffset.UtcNow;
        var context = new SuiteContext(settings, log, cancellationToken);
        var rows = new List<BenchRow>();
        foreach (var suite in SuiteNames.Where(settings.Suites.Contains))
        {
            log.WriteLine($"bench: {suite} (load {MachineInfo.LoadAverage()})");
            rows.AddRange(suite switch
            {
                "verify" => VerifySuite.Run(context),
                "snapshot" => ScaleSuite.Snapshot(context),
                "scan" => ScaleSuite.Scan(context),
                "posture" => PostureSuite.Run(context),
                "cli" => await CliSuite.RunAsync(context).ConfigureAwait(false),
                "grpc" => await GrpcSuite.RunAsync(context).ConfigureAwait(false),
                "events" => await EventLatencySuite.RunAsync(context).ConfigureAwait(false),
                "startup" => await StartupSuite.RunAsync(context).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"unknown suite {suite}"),
            });
        }

        machine.LoadAverageAtEnd = MachineInfo.LoadAverage();
        return new BenchReport(1, "bench", startedAt, machine, settings, rows);
    }
}

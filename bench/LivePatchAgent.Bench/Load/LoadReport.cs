using LivePatchAgent.Bench.Measurement;

namespace LivePatchAgent.Bench.Load;

/// <summary>What <c>lpbench load</c> ran with.</summary>
internal sealed record LoadSettings(
    double DurationSeconds,
    int Streams,
    int StatusClients,
    double ChurnIntervalMs,
    int InitialPatches,
    int FunctionsPerPatch,
    string Daemon,
    IReadOnlyList<string> DaemonSettings);

/// <summary>Calls made and how many failed.</summary>
internal sealed record RequestCounts(long Total, long GetStatusCalls, int WatchStreams, long Errors, IReadOnlyList<string> ErrorSamples);

/// <summary>GetStatus latency (milliseconds, client side, over the Unix socket) and throughput.</summary>
internal sealed record LatencySummary(double P50Ms, double P99Ms, double MeanMs, double MaxMs, double ThroughputPerSecond);

/// <summary>The daemon's resident memory and CPU over the run.</summary>
internal sealed record DaemonFootprint(int Pid, double RssStartMiB, double RssEndMiB, double RssPeakMiB, double CpuSeconds, double CpuPercentOfOneCore, int ExitCode);

/// <summary>The load test's result, printed as a table and written as JSON.</summary>
internal sealed record LoadReport(
    int SchemaVersion,
    string Kind,
    DateTimeOffset StartedAt,
    MachineInfo Machine,
    LoadSettings Settings,
    RequestCounts Requests,
    LatencySummary GetStatus,
    DaemonFootprint Daemon,
    EventAudit Events,
    IReadOnlyDictionary<string, int> ChurnSteps,
    IReadOnlyList<string> Failures)
{
    /// <summary>No errors and no event lost by a subscriber that was never told it lagged.</summary>
    public bool Passed => Failures.Count == 0;

    public void Print(TextWriter output)
    {
        var rows = new (string, string)[]
        {
            ("duration", $"{Settings.DurationSeconds:0.#} s"),
            ("watch streams / GetStatus clients", $"{Settings.Streams} / {Settings.StatusClients}"),
            ("fixture", $"{Settings.InitialPatches} patches x {Settings.FunctionsPerPatch} functions, a change every {Settings.ChurnIntervalMs:0} ms ({ChurnSteps.Values.Sum()} changes)"),
            ("total requests", $"{Requests.Total} ({Requests.GetStatusCalls} GetStatus + {Requests.WatchStreams} WatchEvents)"),
            ("errors", Requests.Errors.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("GetStatus p50 / p99", $"{GetStatus.P50Ms:0.###} ms / {GetStatus.P99Ms:0.###} ms (max {GetStatus.MaxMs:0.#} ms)"),
            ("GetStatus throughput", $"{GetStatus.ThroughputPerSecond:0} calls/s"),
            ("daemon RSS start / end / peak", $"{Daemon.RssStartMiB:0.0} / {Daemon.RssEndMiB:0.0} / {Daemon.RssPeakMiB:0.0} MiB"),
            ("daemon CPU", $"{Daemon.CpuSeconds:0.0} s ({Daemon.CpuPercentOfOneCore:0}% of one core)"),
            ("events published (seq range)", $"{Events.Published} ({Events.FirstSequence}..{Events.LastSequence})"),
            ("events per subscriber min / max", $"{Events.MinReceived} / {Events.MaxReceived}"),
            ("lagged subscribers", $"{Events.LaggedSubscribers} ({Events.DroppedForLagged} events dropped for them)"),
            ("events lost by non-lagged subscribers", Events.LostByNonLagged.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("out of order / mismatched events", $"{Events.OutOfOrder} / {Events.Mismatched}"),
            ("machine", Machine.ToString()),
            ("result", Passed ? "PASS" : "FAIL: " + string.Join("; ", Failures)),
        };
        TextTable.Print(output, ["load test", "value"], rows.Select(r => new[] { r.Item1, r.Item2 }));
    }
}

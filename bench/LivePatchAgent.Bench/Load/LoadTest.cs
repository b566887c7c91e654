using System.Diagnostics;
using Grpc.Core;
using LivePatchAgent.Bench.Daemon;
using LivePatchAgent.Bench.Measurement;
using LivePatchAgent.Client;
using LivePatchAgent.Protocol.V1;
using LivePatchAgent.Bench.Suites;

namespace LivePatchAgent.Bench.Load;

/// <summary>
/// The load test of issue 8: the real livepatchd on a generated fixture tree, many WatchEvents streams and a flood
/// of GetStatus calls for a fixed time while the tree changes underneath, then an audit of what every subscriber saw.
/// </summary>
internal static class LoadTest
{
    private const int MaxErrorSamples = 10;

    /// <summary>How long the event streams must be quiet, and agree, before the audit: two idle polls and then some.</summary>
    private static readonly TimeSpan SettleQuiet = TimeSpan.FromSeconds(2.5);

    public static async Task<LoadReport> RunAsync(LoadSettings settings, TextWriter log, CancellationToken cancellationToken)
    {
        var machine = MachineInfo.Read();
        var startedAt = DateTimeOffset.UtcNow;
        var errors = new ErrorLog();
        using var fixture = SuiteContext.Tree(settings.InitialPatches, settings.FunctionsPerPatch);

        await using var daemon = DaemonProcess.Start(new DaemonLaunch(settings.Daemon, fixture.Root, settings.DaemonSettings));
        await daemon.WaitUntilServingAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        var start = daemon.Sample();
        log.WriteLine($"load: livepatchd pid {daemon.Pid} serving, RSS {start.RssMiB:0.0} MiB; opening {settings.Streams} watch streams");

        var subscribers = new List<EventSubscriber>();
        try
        {
            for (var i = 0; i < settings.Streams; i++)
            {
                subscribers.Add(await EventSubscriber.OpenAsync(daemon.SocketPath, null, cancellationToken).ConfigureAwait(false));
            }

            log.WriteLine($"load: {settings.StatusClients} GetStatus clients and fixture churn for {settings.DurationSeconds:0.#} s");
            var duration = TimeSpan.FromSeconds(settings.DurationSeconds);
            var clock = Stopwatch.StartNew();
            var churn = new FixtureChurn(fixture, settings.FunctionsPerPatch);
            var churning = ChurnAsync(churn, TimeSpan.FromMilliseconds(settings.ChurnIntervalMs), duration, cancellationToken);
            var flooding = Enumerable.Range(0, settings.StatusClients)
                .Select(_ => Task.Run(() => FloodAsync(daemon.SocketPath, duration, errors, cancellationToken), cancellationToken))
                .ToList();
            var latencies = (await Task.WhenAll(flooding).ConfigureAwait(false)).SelectMany(l => l).ToList();
            var elapsed = clock.Elapsed;
            await churning.ConfigureAwait(false);

            await SettleAsync(subscribers, cancellationToken).ConfigureAwait(false);
            var end = daemon.Sample();
            foreach (var subscriber in subscribers)
            {
                await subscriber.StopAsync().ConfigureAwait(false);
                if (subscriber.Failure is { } failure)
                {
                    errors.Add($"WatchEvents: {failure}");
                }
            }

            var audit = EventAudit.Of(subscribers.Select(s => s.Events).ToList());
            var exitCode = await daemon.StopAsync().ConfigureAwait(false);
            if (exitCode != 0)
            {
                errors.Add($"livepatchd exited with {exitCode}: {daemon.StandardError}");
            }

            machine.LoadAverageAtEnd = MachineInfo.LoadAverage();
            var distribution = Distribution.Of(latencies);
            var failures = new List<string>();
            if (errors.Count > 0)
            {
                failures.Add($"{errors.Count} error(s)");
            }

            if (audit.LostByNonLagged > 0 || audit.OutOfOrder > 0 || audit.Mismatched > 0)
            {
                failures.Add($"{audit.LostByNonLagged} event(s) lost, {audit.OutOfOrder} out of order, {audit.Mismatched} mismatched by subscribers that were not told they lagged");
            }

            return new LoadReport(
                SchemaVersion: 1,
                Kind: "load",
                StartedAt: startedAt,
                Machine: machine,
                Settings: settings,
                Requests: new RequestCounts(latencies.Count + errors.GetStatusErrors + subscribers.Count, latencies.Count + errors.GetStatusErrors,
                    subscribers.Count, errors.Count, errors.Samples),
                GetStatus: new LatencySummary(distribution.Median, distribution.P99, distribution.Mean, distribution.Max,
                    latencies.Count / elapsed.TotalSeconds),
                Daemon: new DaemonFootprint(daemon.Pid, start.RssMiB, end.RssMiB, end.PeakRssMiB, end.CpuSeconds - start.CpuSeconds,
                    ProcessSample.CpuPercent(start, end), exitCode),
                Events: audit,
                ChurnSteps: new SortedDictionary<string, int>(churn.Steps.ToDictionary(), StringComparer.Ordinal),
                Failures: failures);
        }
        finally
        {
            foreach (var subscriber in subscribers)
            {
                await subscriber.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task ChurnAsync(FixtureChurn churn, TimeSpan interval, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration && await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            churn.Step();
        }
    }

    /// <summary>One client on its own connection calling GetStatus back to back; returns each call's latency in ms.</summary>
    private static async Task<List<double>> FloodAsync(string socketPath, TimeSpan duration, ErrorLog errors, CancellationToken cancellationToken)
    {
        using var channel = AgentChannel.Create(socketPath);
        var client = new Agent.AgentClient(channel);
        var latencies = new List<double>(capacity: 100_000);
        var clock = Stopwatch.StartNew();
        var request = new GetStatusRequest();
        while (clock.Elapsed < duration)
        {
            var begin = Stopwatch.GetTimestamp();
            try
            {
                await client.GetStatusAsync(request, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken).ConfigureAwait(false);
                latencies.Add(Stopwatch.GetElapsedTime(begin).TotalMilliseconds);
            }
            catch (RpcException e)
            {
                errors.AddGetStatus($"GetStatus: {e.StatusCode}: {e.Status.Detail}");
            }
        }

        return latencies;
    }

    /// <summary>Waits until every subscriber has the same last event and nothing new came for <see cref="SettleQuiet"/>.</summary>
    private static async Task SettleAsync(IReadOnlyList<EventSubscriber> subscribers, CancellationToken cancellationToken)
    {
        var limit = Stopwatch.StartNew();
        var quiet = Stopwatch.StartNew();
        var last = (Max: 0UL, Count: 0L);
        while (limit.Elapsed < TimeSpan.FromSeconds(30))
        {
            var lasts = subscribers.Select(s => s.Events.LastOrDefault(e => e.Sequence != 0).Sequence).ToList();
            var now = (Max: lasts.DefaultIfEmpty(0UL).Max(), Count: subscribers.Sum(s => (long)s.Events.Count));
            if (now != last)
            {
                last = now;
                quiet.Restart();
            }
            else if (quiet.Elapsed >= SettleQuiet && lasts.All(l => l == now.Max))
            {
                return;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Errors from every client task, with the first few kept to show.</summary>
    private sealed class ErrorLog
    {
        private readonly List<string> _samples = [];

        public long Count { get; private set; }

        public long GetStatusErrors { get; private set; }

        public IReadOnlyList<string> Samples
        {
            get
            {
                lock (_samples)
                {
                    return [.. _samples];
                }
            }
        }

        public void Add(string message)
        {
            lock (_samples)
            {
                Count++;
                if (_samples.Count < MaxErrorSamples)
                {
                    _samples.Add(message);
                }
            }
        }

        public void AddGetStatus(string message)
        {
            lock (_samples)
            {
                GetStatusErrors++;
            }

            Add(message);
        }
    }
}

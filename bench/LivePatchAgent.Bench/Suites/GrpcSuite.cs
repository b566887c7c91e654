using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using LivePatchAgent.Bench.Daemon;
using LivePatchAgent.Bench.Measurement;
using LivePatchAgent.Client;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Bench.Suites;

/// <summary>
/// (5) GetStatus throughput and latency at 1, 8 and 64 concurrent clients (each on its own connection, calling
/// back to back) over the Unix socket, as a ratio to grpc.health.v1.Health/Check served by the same daemon in the
/// same run: same Kestrel, same HTTP/2 connection settings, same interceptors (errors, SO_PEERCRED authorization),
/// a handler that answers a constant. Rounds alternate the order of the two RPCs.
/// </summary>
internal static class GrpcSuite
{
    public static async Task<IReadOnlyList<BenchRow>> RunAsync(SuiteContext context)
    {
        using var fixture = SuiteContext.Tree(3, 10);
        await using var daemon = DaemonProcess.Start(new DaemonLaunch(context.Settings.Daemon, fixture.Root, []));
        await daemon.WaitUntilServingAsync(TimeSpan.FromSeconds(30), context.CancellationToken).ConfigureAwait(false);
        var window = TimeSpan.FromSeconds(context.Settings.Quick ? 2 : 5);
        var rounds = context.Runs(3, 1);
        var rows = new List<BenchRow>();
        foreach (var clients in new[] { 1, 8, 64 })
        {
            var throughput = new Dictionary<string, List<double>> { ["echo"] = [], ["GetStatus"] = [] };
            var latency = new Dictionary<string, List<double>> { ["echo"] = [], ["GetStatus"] = [] };
            await FloodAsync(daemon.SocketPath, "echo", clients, TimeSpan.FromSeconds(1), context.CancellationToken).ConfigureAwait(false);
            await FloodAsync(daemon.SocketPath, "GetStatus", clients, TimeSpan.FromSeconds(1), context.CancellationToken).ConfigureAwait(false);
            for (var round = 0; round < rounds; round++)
            {
                foreach (var rpc in round % 2 == 0 ? new[] { "echo", "GetStatus" } : ["GetStatus", "echo"])
                {
                    var samples = await FloodAsync(daemon.SocketPath, rpc, clients, window, context.CancellationToken).ConfigureAwait(false);
                    throughput[rpc].Add(samples.Count / window.TotalSeconds);
                    latency[rpc].AddRange(samples);
                }
            }

            var echo = Distribution.Of(throughput["echo"]);
            var status = Distribution.Of(throughput["GetStatus"]);
            var ratio = status.Median / echo.Median;
            context.Log.WriteLine($"grpc: {clients} clients: GetStatus {status.Median:0}/s, echo {echo.Median:0}/s");
            var @case = clients == 1 ? "1 client" : $"{clients} clients";
            rows.Add(new BenchRow("grpc", @case, "echo (Health/Check) calls/s", "/s", echo.Median, null, echo.Count));
            rows.Add(new BenchRow("grpc", @case, "GetStatus calls/s", "/s", status.Median, null, status.Count));
            rows.Add(BenchRow.From("grpc", @case, "echo latency", "ms", Distribution.Of(latency["echo"])));
            rows.Add(BenchRow.From("grpc", @case, "GetStatus latency", "ms", Distribution.Of(latency["GetStatus"])));
            var ratioRow = new BenchRow("grpc", @case, "GetStatus / echo throughput", "x", ratio, null, status.Count);
            rows.Add(clients == 8 ? ratioRow.Held(">= 0.7x", ratio >= 0.7) : ratioRow);
        }

        return rows;
    }

    /// <summary>Each client calls back to back on its own connection for <paramref name="window"/>; every latency in ms.</summary>
    private static async Task<List<double>> FloodAsync(string socketPath, string rpc, int clients, TimeSpan window, CancellationToken cancellationToken)
    {
        var tasks = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            using var channel = AgentChannel.Create(socketPath);
            var agent = new Agent.AgentClient(channel);
            var health = new Health.HealthClient(channel);
            var statusRequest = new GetStatusRequest();
            var healthRequest = new HealthCheckRequest();
            // Connect before the clock starts.
            await health.CheckAsync(healthRequest, cancellationToken: cancellationToken);
            var samples = new List<double>(capacity: 50_000);
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < window)
            {
                var begin = Stopwatch.GetTimestamp();
                if (rpc == "echo")
                {
                    var answer = await health.CheckAsync(healthRequest, cancellationToken: cancellationToken);
                    if (answer.Status != HealthCheckResponse.Types.ServingStatus.Serving)
                    {
                        throw new InvalidOperationException($"the daemon's health is {answer.Status}");
                    }
                }
                else
                {
                    await agent.GetStatusAsync(statusRequest, cancellationToken: cancellationToken);
                }

                samples.Add(Stopwatch.GetElapsedTime(begin).TotalMilliseconds);
            }

            return samples;
        }, cancellationToken));
        try
        {
            return (await Task.WhenAll(tasks).ConfigureAwait(false)).SelectMany(s => s).ToList();
        }
        catch (RpcException e)
        {
            throw new InvalidOperationException($"{rpc} failed under load: {e.Status}", e);
        }
    }
}

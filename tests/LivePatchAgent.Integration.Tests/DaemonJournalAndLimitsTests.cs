using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using LivePatchAgent.Client;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The audit journal as the daemon writes and serves it (lpctl history, crash reconciliation at start), and the
/// per-uid limits on connections and watch streams, on the real host with a simulated kernel.
/// </summary>
public sealed class DaemonJournalAndLimitsTests : SimulatedHostTests
{

    public DaemonJournalAndLimitsTests()
        : base("lpd-journal-")
    {
    }

    [Fact]
    public async Task History_shows_each_load_and_unload_with_caller_hash_and_outcome()
    {
        await using var daemon = await StartAsync();
        var module = Path.Combine(Files.FullName, "lp_unit.ko");
        File.WriteAllBytes(module, TestSigningKey.Trusted.Sign(ModuleImage.Default()));
        Assert.Equal(0, (await Lpctl(daemon, "load", module)).ExitCode);
        Assert.Equal(0, (await Lpctl(daemon, "unload", "lp_unit")).ExitCode);
        Assert.Equal(1, (await Lpctl(daemon, "unload", "lp_unit")).ExitCode);

        var json = await Lpctl(daemon, "-o", "json", "history");
        var table = await Lpctl(daemon, "history", "--since", "1h");

        Assert.True(json.ExitCode == 0, json.ToString());
        using var document = JsonDocument.Parse(json.Out);
        var operations = document.RootElement.GetProperty("operations").EnumerateArray().ToList();
        Assert.Equal(["load", "unload", "unload"], operations.Select(o => o.GetProperty("operation").GetString()));
        Assert.Equal(["completed", "completed", "refused"], operations.Select(o => o.GetProperty("outcome").GetString()));
        Assert.Equal("patch-not-found", operations[2].GetProperty("reason").GetString());
        Assert.Equal(Kernel.LoadedSha256.Single(), operations[0].GetProperty("sha256").GetString());
        Assert.Equal(0, operations[0].GetProperty("callerUid").GetInt32());
        Assert.Equal("lpctl", operations[0].GetProperty("callerComm").GetString());
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Matches(@"(?m)^\d+ +\S+ \S+ +load +lp_unit +lpctl\[\d+\] uid 0 +completed ", table.Out);

        // On disk: one started and one finished line per operation, and the load's "checked" line (the module it
        // read, once verified); 0600.
        var lines = File.ReadAllLines(Path.Combine(daemon.StateDir, "journal", "journal.jsonl"));
        Assert.Equal(["started", "checked", "finished", "started", "finished", "started", "finished"],
            lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event").GetString()));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(daemon.StateDir, "journal", "journal.jsonl")));
    }

    [Fact]
    public async Task An_operation_a_crash_left_open_is_closed_as_interrupted_with_theKernel_state_at_start()
    {
        // What a kill -9 between "started" and "finished" leaves: a started line, then a torn half line.
        var directory = Path.Combine(Path.GetTempPath(), "lpd-" + Guid.NewGuid().ToString("N")[..10]);
        var journal = Path.Combine(directory, "state", "journal");
        Directory.CreateDirectory(journal);
        var bootId = File.ReadAllText(Path.Combine(Fixture.Root, "proc/sys/kernel/random/boot_id")).Trim();
        File.WriteAllText(Path.Combine(journal, "journal.jsonl"),
            $$"""{"v":1,"seq":41,"time":"2026-11-28T12:00:00Z","event":"started","op":41,"operation":"load","patch":"lp_crashed","bootId":"{{bootId}}","uid":0,"pid":99,"comm":"lpctl","caller":"lpctl[99] uid 0"}""" + "\n"
            + """{"v":1,"seq":42,"time":"2026-11-28T12:00:01Z","event":"fini""");
        Fixture.AddPatch("lp_crashed", enabled: true);

        await using var daemon = await StartAsync(new DaemonHarnessOptions { Directory = directory, Loader = Kernel });
        var history = await daemon.Client.GetHistoryAsync(new GetHistoryRequest());

        var operation = Assert.Single(history.Operations);
        Assert.Equal(41, operation.Id);
        Assert.Equal("interrupted", operation.Outcome);
        Assert.Equal("enabled", operation.KernelState);
        Assert.StartsWith("the load completed: the kernel shows lp_crashed loaded and enabled", operation.Message, StringComparison.Ordinal);
        // The torn half line is reported with its place; the next entry started on a line of its own.
        Assert.Contains(history.Problems, p => p.Contains("journal.jsonl:2 ", StringComparison.Ordinal) && p.Contains("skipped", StringComparison.Ordinal));
        Assert.Equal(0, Kernel.LoadCalls);

        // The next operation gets the next id and works.
        Assert.Equal(0, (await Lpctl(daemon, "unload", "lp_crashed")).ExitCode);
        var after = await daemon.Client.GetHistoryAsync(new GetHistoryRequest());
        Assert.Equal("completed", after.Operations[^1].Outcome);
        Assert.True(after.Operations[^1].Id > 42);
    }

    [Fact]
    public async Task A_uid_over_its_connection_limit_is_told_so_and_gets_its_slots_back_when_it_closes()
    {
        // The harness's own channel is the first connection of uid 0.
        await using var daemon = await StartAsync("Limits:MaxConnectionsPerUid=2");
        var channels = new List<GrpcChannel>();
        try
        {
            async Task<StatusCode> CallOnNewConnection()
            {
                var channel = AgentChannel.Create(daemon.SocketPath);
                channels.Add(channel);
                try
                {
                    await new Agent.AgentClient(channel).GetStatusAsync(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(20));
                    return StatusCode.OK;
                }
                catch (RpcException e)
                {
                    Assert.True(e.StatusCode != StatusCode.ResourceExhausted || e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason == "limit-exceeded", e.ToString());
                    return e.StatusCode;
                }
            }

            Assert.Equal(StatusCode.OK, await CallOnNewConnection());
            Assert.Equal(StatusCode.ResourceExhausted, await CallOnNewConnection());
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(StatusCode.ResourceExhausted, await CallOnNewConnection());
            }

            // Past the refusal slots the connection is closed without a word.
            Assert.Equal(StatusCode.Unavailable, await CallOnNewConnection());
        }
        finally
        {
            channels.ForEach(c => c.Dispose());
        }

        await DaemonHarness.WaitForAsync(async () =>
        {
            using var fresh = AgentChannel.Create(daemon.SocketPath);
            try
            {
                await new Agent.AgentClient(fresh).GetStatusAsync(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        });
    }

    [Fact]
    public async Task A_uid_over_its_watch_stream_limit_is_refused_with_limit_exceeded_until_one_ends()
    {
        await using var daemon = await StartAsync("Limits:MaxWatchStreamsPerUid=2");
        using var first = daemon.Client.WatchEvents(new WatchEventsRequest());
        using var second = daemon.Client.WatchEvents(new WatchEventsRequest());
        await first.ResponseHeadersAsync;
        await second.ResponseHeadersAsync;

        var third = daemon.Client.WatchEvents(new WatchEventsRequest());
        var refused = await Assert.ThrowsAsync<RpcException>(() => third.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Equal("limit-exceeded", refused.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason);
        Assert.Contains("MaxWatchStreamsPerUid", refused.Status.Detail, StringComparison.Ordinal);
        third.Dispose();

        first.Dispose();
        await DaemonHarness.WaitForAsync(async () =>
        {
            using var again = daemon.Client.WatchEvents(new WatchEventsRequest());
            try
            {
                await again.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(5));
                return true;
            }
            catch (RpcException)
            {
                return false;
            }
        });
    }

    private Task<DaemonHarness> StartAsync(DaemonHarnessOptions options) =>
        DaemonHarness.StartAsync(Fixture, options, [TrustedCertificateDir.SettingFor(TrustedDir)]);

}

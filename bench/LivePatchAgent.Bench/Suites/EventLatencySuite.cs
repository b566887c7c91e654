using System.Diagnostics;
using LivePatchAgent.Bench.Daemon;
using LivePatchAgent.Bench.Load;
using LivePatchAgent.Bench.Measurement;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Bench.Suites;

/// <summary>
/// (6) From a change in the fixture tree (the taint mask written, by rename, as the kernel's value changes) to the
/// taint-changed event arriving at a WatchEvents subscriber, at the default poll intervals: idle (1 s) and while a
/// patch is in transition (100 ms). Each change waits a random part of the interval first, so the changes fall at
/// every phase of the poll.
/// </summary>
internal static class EventLatencySuite
{
    private static readonly TimeSpan IdleInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan TransitionInterval = TimeSpan.FromMilliseconds(100);

    public static async Task<IReadOnlyList<BenchRow>> RunAsync(SuiteContext context)
    {
        using var fixture = SuiteContext.Tree(3, 10);
        await using var daemon = DaemonProcess.Start(new DaemonLaunch(context.Settings.Daemon, fixture.Root, []));
        await daemon.WaitUntilServingAsync(TimeSpan.FromSeconds(30), context.CancellationToken).ConfigureAwait(false);

        TaskCompletionSource<ReceivedEvent>? pending = null;
        await using var subscriber = await EventSubscriber.OpenAsync(daemon.SocketPath, e =>
        {
            if (e.Kind == EventKind.TaintChanged)
            {
                Volatile.Read(ref pending)?.TrySetResult(e);
            }
        }, context.CancellationToken).ConfigureAwait(false);

        var taint = 0UL;
        async Task<double> ChangeAsync(TimeSpan interval)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * interval.TotalMilliseconds), context.CancellationToken).ConfigureAwait(false);
            var waiter = new TaskCompletionSource<ReceivedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref pending, waiter);
            taint ^= 1UL << 12;
            fixture.WithTaint(taint);
            var changedAt = Stopwatch.GetTimestamp();
            var received = await waiter.Task.WaitAsync(TimeSpan.FromSeconds(10), context.CancellationToken).ConfigureAwait(false);
            return Stopwatch.GetElapsedTime(changedAt, received.ReceivedAt).TotalMilliseconds;
        }

        var runs = context.Runs(60, 10);
        var idle = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            idle.Add(await ChangeAsync(IdleInterval).ConfigureAwait(false));
        }

        // A transition that stays open while the changes are made, well short of Transitions:StallAfter (30 s).
        fixture.AddPatch("lpb_transition", enabled: true, transition: true).Function("fn_t");
        await Task.Delay(IdleInterval * 2, context.CancellationToken).ConfigureAwait(false);
        var transition = new List<double>();
        for (var i = 0; i < runs * 2; i++)
        {
            transition.Add(await ChangeAsync(TransitionInterval).ConfigureAwait(false));
        }

        fixture.SetTransition("lpb_transition", false);
        var idleRow = BenchRow.From("events", "idle (poll 1 s)", "change to subscriber", "ms", Distribution.Of(idle));
        var transitionRow = BenchRow.From("events", "in transition (poll 100 ms)", "change to subscriber", "ms", Distribution.Of(transition));
        context.Log.WriteLine($"events: idle p99 {idleRow.P99:0} ms, in transition p99 {transitionRow.P99:0} ms");
        return
        [
            idleRow.Held("p99 <= 1050 ms", idleRow.P99 <= 1050),
            transitionRow.Held("p99 <= 150 ms", transitionRow.P99 <= 150),
        ];
    }
}

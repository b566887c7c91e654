using LivePatchAgent.Core.State;
using LivePatchAgent.Core.Transitions;
using Microsoft.Extensions.Time.Testing;

namespace LivePatchAgent.Unit.Tests.Core.Transitions;

public sealed class StallLadderTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    private static TransitionPolicy Policy(TimeSpan? kickAfter = null, OnStall onStall = OnStall.Revert) =>
        new(TimeSpan.FromSeconds(30), kickAfter, TimeSpan.FromSeconds(180), onStall);

    private List<(int Second, StallStep Step)> Walk(StallLadder ladder, TransitionView transition, int seconds)
    {
        var steps = new List<(int, StallStep)>();
        for (var s = 0; s <= seconds; s++)
        {
            steps.AddRange(ladder.Advance(transition, _time.GetUtcNow()).Select(step => (s, step)));
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        return steps;
    }

    [Fact]
    public void Waits_then_stalls_then_resolves_each_once()
    {
        var transition = new TransitionView("lpdemo_v3", true, _time.GetUtcNow());

        var steps = Walk(new StallLadder(Policy()), transition, 400);

        Assert.Equal([(30, StallStep.Stalled), (180, StallStep.Resolve)], steps);
    }

    [Fact]
    public void Kicks_between_stall_and_resolve_when_enabled()
    {
        var transition = new TransitionView("p", true, _time.GetUtcNow());

        var steps = Walk(new StallLadder(Policy(kickAfter: TimeSpan.FromSeconds(60))), transition, 200);

        Assert.Equal([(30, StallStep.Stalled), (60, StallStep.Kick), (180, StallStep.Resolve)], steps);
    }

    [Fact]
    public void A_quick_transition_never_stalls()
    {
        var ladder = new StallLadder(Policy());
        var transition = new TransitionView("p", true, _time.GetUtcNow());
        Walk(ladder, transition, 20);

        Assert.Empty(ladder.Advance(null, _time.GetUtcNow()));
    }

    [Fact]
    public void A_stall_that_ends_on_its_own_is_recovered()
    {
        var ladder = new StallLadder(Policy());
        var transition = new TransitionView("p", true, _time.GetUtcNow());
        Walk(ladder, transition, 45); // stalled at 30 s, e.g. the kernel's fake signal frees it at 45 s

        Assert.Equal([StallStep.Recovered], ladder.Advance(null, _time.GetUtcNow()));
    }

    [Fact]
    public void A_resolved_stall_is_not_reported_as_recovered()
    {
        var ladder = new StallLadder(Policy());
        Walk(ladder, new TransitionView("p", true, _time.GetUtcNow()), 181);

        Assert.Empty(ladder.Advance(null, _time.GetUtcNow()));
    }

    [Fact]
    public void A_reversal_is_a_new_transition_with_its_own_clock()
    {
        var ladder = new StallLadder(Policy());
        var started = _time.GetUtcNow();
        Walk(ladder, new TransitionView("p", true, started), 40);

        var reversed = new TransitionView("p", false, _time.GetUtcNow());
        var steps = Walk(ladder, reversed, 31);

        Assert.Equal([(0, StallStep.Recovered), (30, StallStep.Stalled)], steps);
    }
}

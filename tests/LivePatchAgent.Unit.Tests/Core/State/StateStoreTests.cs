using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.State;
using Microsoft.Extensions.Time.Testing;

namespace LivePatchAgent.Unit.Tests.Core.State;

public sealed class StateStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly StateStore _store = new();

    private KernelSnapshot Snapshot(bool supported = true, params LivePatch[] patches) => new()
    {
        TakenAt = _time.GetUtcNow(),
        Kernel = new KernelFacts { Release = "r", LivepatchSupported = supported },
        Patches = [.. patches],
    };

    private static LivePatch Patch(string name, bool enabled = true, bool transition = false) =>
        new() { Name = name, Enabled = enabled, Transition = transition };

    [Fact]
    public void Has_no_view_before_the_first_snapshot()
    {
        Assert.False(_store.HasSnapshot);
        Assert.Throws<InvalidOperationException>(() => _store.Current);
    }

    [Fact]
    public void Derives_idle_transitioning_and_unsupported()
    {
        Assert.Equal(AgentState.Idle, _store.Update(Snapshot(true, Patch("p"))).State);
        Assert.Equal(AgentState.Transitioning, _store.Update(Snapshot(true, Patch("p", transition: true))).State);
        Assert.Equal(AgentState.Unsupported, _store.Update(Snapshot(false)).State);
    }

    [Fact]
    public void A_transition_keeps_its_start_time_across_polls_and_restarts_on_reversal()
    {
        var first = _store.Update(Snapshot(true, Patch("p", transition: true)));
        _time.Advance(TimeSpan.FromSeconds(40));
        var later = _store.Update(Snapshot(true, Patch("p", transition: true)));

        Assert.Equal(first.Transition!.StartedAt, later.Transition!.StartedAt);
        Assert.Equal(TimeSpan.FromSeconds(40), later.Transition.ElapsedAt(_time.GetUtcNow()));

        _time.Advance(TimeSpan.FromSeconds(5));
        var reversed = _store.Update(Snapshot(true, Patch("p", enabled: false, transition: true)));
        Assert.False(reversed.Transition!.Patching);
        Assert.Equal(_time.GetUtcNow(), reversed.Transition.StartedAt);

        Assert.Null(_store.Update(Snapshot(true)).Transition);
    }

    [Fact]
    public void Degraded_reasons_show_while_set()
    {
        _store.Update(Snapshot(true, Patch("p")));

        _store.SetDegraded("d-bus connection lost", true);
        Assert.Equal(AgentState.Degraded, _store.Current.State);
        Assert.Equal(["d-bus connection lost"], _store.Current.DegradedReasons);

        _store.SetDegraded("d-bus connection lost", false);
        Assert.Equal(AgentState.Idle, _store.Current.State);
    }

    [Fact]
    public void Counts_patches_and_enabled_patches()
    {
        var view = _store.Update(Snapshot(true, Patch("a"), Patch("b", transition: true), Patch("c", enabled: false, transition: false)));

        Assert.Equal(3, view.PatchCount);
        Assert.Equal(1, view.EnabledPatchCount);
    }

    [Fact]
    public void Changed_fires_with_each_new_view()
    {
        var seen = new List<AgentView>();
        _store.Changed += seen.Add;

        _store.Update(Snapshot(true));
        _store.Update(Snapshot(true, Patch("p")));

        Assert.Equal(2, seen.Count);
        Assert.Same(_store.Current, seen[^1]);
    }
}

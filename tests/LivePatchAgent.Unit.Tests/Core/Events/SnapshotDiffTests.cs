using System.Collections.Immutable;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using Microsoft.Extensions.Time.Testing;

namespace LivePatchAgent.Unit.Tests.Core.Events;

public sealed class SnapshotDiffTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    private KernelSnapshot Snapshot(KernelFacts? kernel = null, params LivePatch[] patches)
    {
        var snapshot = new KernelSnapshot
        {
            TakenAt = _time.GetUtcNow(),
            Kernel = kernel ?? new KernelFacts { Release = "6.1.0-56-amd64", BootId = "b1", LivepatchSupported = true, Taint = new TaintMask(0) },
            Patches = [.. patches],
        };
        _time.Advance(TimeSpan.FromSeconds(1));
        return snapshot;
    }

    private static LivePatch Patch(string name, bool enabled = true, bool transition = false) =>
        new() { Name = name, Enabled = enabled, Transition = transition, Objects = ImmutableArray<PatchObject>.Empty };

    [Fact]
    public void No_change_no_events()
    {
        var a = Snapshot(null, Patch("p"));
        var b = Snapshot(null, Patch("p"));

        Assert.Empty(SnapshotDiff.Compute(a, b));
    }

    [Fact]
    public void A_loaded_patch_appears_and_starts_its_transition()
    {
        var before = Snapshot();
        var after = Snapshot(null, Patch("p", transition: true));

        var events = SnapshotDiff.Compute(before, after);

        Assert.Equal([AgentEventKind.PatchAppeared, AgentEventKind.TransitionStarted], events.Select(e => e.Kind));
        Assert.All(events, e => Assert.Equal(after.TakenAt, e.Time));
        Assert.Equal(PatchState.Enabling, events[1].ToState);
    }

    [Fact]
    public void A_patch_that_appears_already_enabled_had_its_whole_transition_between_polls()
    {
        var events = SnapshotDiff.Compute(Snapshot(), Snapshot(null, Patch("p")));

        Assert.Equal([AgentEventKind.PatchAppeared, AgentEventKind.TransitionStarted, AgentEventKind.TransitionCompleted], events.Select(e => e.Kind));
        Assert.Equal((PatchState.Enabling, PatchState.Enabled), (events[2].FromState, events[2].ToState));
    }

    [Fact]
    public void A_patch_removed_mid_transition_is_removed_from_the_disabled_state()
    {
        var events = SnapshotDiff.Compute(Snapshot(null, Patch("p", enabled: false, transition: true)), Snapshot());

        Assert.Equal([AgentEventKind.TransitionCompleted, AgentEventKind.PatchRemoved], events.Select(e => e.Kind));
        Assert.Equal(PatchState.Disabled, events[0].ToState);
        Assert.Equal(PatchState.Disabled, events[1].FromState);
    }

    [Fact]
    public void A_finished_transition_completes()
    {
        var events = SnapshotDiff.Compute(Snapshot(null, Patch("p", transition: true)), Snapshot(null, Patch("p")));

        var e = Assert.Single(events);
        Assert.Equal(AgentEventKind.TransitionCompleted, e.Kind);
        Assert.Equal(PatchState.Enabling, e.FromState);
        Assert.Equal(PatchState.Enabled, e.ToState);
        Assert.Contains("patching transition completed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disable_is_reported_then_its_transition()
    {
        var events = SnapshotDiff.Compute(Snapshot(null, Patch("p")), Snapshot(null, Patch("p", enabled: false, transition: true)));

        Assert.Equal([AgentEventKind.PatchDisabled, AgentEventKind.TransitionStarted], events.Select(e => e.Kind));
        Assert.Contains("unpatching", events[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flipping_enabled_during_a_transition_is_a_reversal()
    {
        var events = SnapshotDiff.Compute(Snapshot(null, Patch("p", transition: true)), Snapshot(null, Patch("p", enabled: false, transition: true)));

        var e = Assert.Single(events);
        Assert.Equal(AgentEventKind.TransitionReversed, e.Kind);
        Assert.Equal(PatchState.Disabling, e.ToState);
    }

    [Fact]
    public void A_vanished_patch_is_removed_and_a_running_transition_ends()
    {
        var events = SnapshotDiff.Compute(Snapshot(null, Patch("a"), Patch("b", enabled: false, transition: true)), Snapshot());

        Assert.Equal(
            [(AgentEventKind.TransitionCompleted, "b"), (AgentEventKind.PatchRemoved, "b"), (AgentEventKind.PatchRemoved, "a")],
            events.Select(e => (e.Kind, e.Patch!)).OrderByDescending(x => x.Item2));
    }

    [Fact]
    public void Atomic_replace_removes_the_old_patch_and_completes_the_new()
    {
        var before = Snapshot(null, Patch("v1"), Patch("v2", transition: true));
        var after = Snapshot(null, Patch("v2"));

        var kinds = SnapshotDiff.Compute(before, after).Select(e => (e.Kind, e.Patch)).ToList();

        Assert.Contains((AgentEventKind.TransitionCompleted, "v2"), kinds);
        Assert.Contains((AgentEventKind.PatchRemoved, "v1"), kinds);
    }

    [Fact]
    public void Kernel_taint_and_support_changes_are_events()
    {
        var before = Snapshot(new KernelFacts { Release = "a", BootId = "1", Taint = new TaintMask(0), LivepatchSupported = true });
        var after = Snapshot(new KernelFacts { Release = "b", BootId = "2", Taint = new TaintMask(32768), LivepatchSupported = false });

        var events = SnapshotDiff.Compute(before, after);

        Assert.Equal([AgentEventKind.KernelChanged, AgentEventKind.SupportChanged, AgentEventKind.TaintChanged], events.Select(e => e.Kind));
        Assert.Equal("b", events[0].KernelRelease);
        Assert.Contains("(K)", events[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_taint_is_not_a_change()
    {
        var before = Snapshot(new KernelFacts { Release = "a", BootId = "1", Taint = null, LivepatchSupported = true });
        var after = Snapshot(new KernelFacts { Release = "a", BootId = "1", Taint = new TaintMask(1), LivepatchSupported = true });

        Assert.Empty(SnapshotDiff.Compute(before, after));
    }
}

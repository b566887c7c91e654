using System.Collections.Immutable;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.DBus;

namespace LivePatchAgent.Unit.Tests.Daemon.DBus;

/// <summary>What each new view means on the bus: exactly the changed properties, and the signals.</summary>
public sealed class AgentBusModelTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    internal static LivePatch Patch(string name, bool enabled = true, bool transition = false) => new()
    {
        Name = name,
        Enabled = enabled,
        Transition = transition,
        Objects = [new PatchObject { Name = "vmlinux", Functions = [new PatchFunction("cmdline_proc_show", 1)] }],
    };

    internal static AgentView View(
        ImmutableArray<LivePatch> patches, AgentState? state = null, string release = "6.1.0-56-amd64", ulong taint = 0,
        TransitionView? transition = null, bool supported = true, IReadOnlyList<string>? degraded = null, DateTimeOffset? at = null,
        StallView? stall = null, IReadOnlySet<string>? forced = null) => new()
    {
        Snapshot = new KernelSnapshot
        {
            TakenAt = at ?? T0,
            Kernel = new KernelFacts { Release = release, BootId = "boot", Taint = new TaintMask(taint), LivepatchSupported = supported },
            Patches = patches,
        },
        State = state ?? (transition is not null ? AgentState.Transitioning : AgentState.Idle),
        Transition = transition,
        Degraded = (degraded ?? []).Select((reason, i) => (reason, i)).ToImmutableSortedDictionary(x => $"source{x.i}", x => x.reason, StringComparer.Ordinal),
        Stall = stall,
        ForcedModules = forced ?? new HashSet<string>(),
    };

    [Fact]
    public void A_view_that_changes_nothing_announces_nothing()
    {
        var model = new AgentBusModel(View([Patch("a")]), "0.1.0", T0);

        var update = model.Apply(View([Patch("a")], at: T0.AddSeconds(1)), T0.AddSeconds(1));

        Assert.True(update.IsEmpty);
        Assert.Equal(T0, model.State.UpdatedAt);
    }

    [Fact]
    public void Only_the_properties_that_changed_are_announced_with_UpdatedAt()
    {
        var model = new AgentBusModel(View([Patch("a")], taint: 0), "0.1.0", T0);
        var later = T0.AddSeconds(5);

        var update = model.Apply(View([Patch("a"), Patch("b")], taint: 1UL << 15), later);

        Assert.Equal(["PatchCount", "EnabledPatchCount", "TaintMask", "TaintFlags", "UpdatedAt"], update.ChangedProperties.Select(p => p.Name));
        Assert.Equal(later, update.State.UpdatedAt);
        Assert.Equal(2U, update.State.PatchCount);
        Assert.Equal("K", update.State.TaintFlags);
    }

    [Theory]
    [InlineData("integrity", true, "integrity", "enforced")]
    [InlineData("none", false, "none", "off")]
    [InlineData(null, null, "", "")]
    public void KernelLockdown_and_SignatureEnforcement_say_the_kernel_policy_and_empty_when_unknown(
        string? lockdown, bool? sigEnforce, string wantLockdown, string wantSignatures)
    {
        var view = View([Patch("a")]);
        view = view with { Snapshot = view.Snapshot with { Kernel = view.Snapshot.Kernel with { Lockdown = lockdown, SigEnforce = sigEnforce } } };

        var state = AgentBusState.From(view, "0.1.0", T0);

        Assert.Equal(wantLockdown, state.KernelLockdown);
        Assert.Equal(wantSignatures, state.SignatureEnforcement);
    }

    [Fact]
    public void DegradedReasons_lists_every_reason_and_is_announced_when_one_goes()
    {
        var model = new AgentBusModel(View([], AgentState.Degraded, degraded: ["d-bus: not connected", "posture: feed unreadable"]), "0.1.0", T0);

        var update = model.Apply(View([], AgentState.Degraded, degraded: ["posture: feed unreadable"]), T0.AddSeconds(1));

        Assert.Equal(["LastError", "DegradedReasons", "UpdatedAt"], update.ChangedProperties.Select(p => p.Name));
        Assert.Equal(["posture: feed unreadable"], update.State.DegradedReasons.AsEnumerable());
        Assert.Equal("posture: feed unreadable", update.State.LastError);
    }

    [Fact]
    public void A_transition_announces_state_patch_and_start_but_never_the_running_seconds()
    {
        var model = new AgentBusModel(View([Patch("a")]), "0.1.0", T0);
        var transition = new TransitionView("b", Patching: true, T0.AddSeconds(1));

        var start = model.Apply(View([Patch("a"), Patch("b", transition: true)], transition: transition), T0.AddSeconds(1));
        var running = model.Apply(View([Patch("a"), Patch("b", transition: true)], transition: transition, at: T0.AddSeconds(9)), T0.AddSeconds(9));

        Assert.Equal(["State", "TransitionPatch", "TransitionStartedAt", "PatchCount", "UpdatedAt"], start.ChangedProperties.Select(p => p.Name));
        Assert.Equal("transitioning", start.State.State);
        Assert.True(running.IsEmpty);
        // Computed when read: 8 s after the start.
        Assert.Equal(8, model.State.TransitionSecondsAt(T0.AddSeconds(9)), precision: 6);
        Assert.DoesNotContain(AgentBusProperties.All, p => p.Name == "TransitionSeconds" && p.Emits != ChangeSignal.False);
    }

    [Fact]
    public void Patch_state_changes_appearances_and_removals_are_signalled()
    {
        var before = View([Patch("a"), Patch("gone")]);
        var after = View([Patch("a", enabled: false, transition: true), Patch("new", transition: true)]);

        var signals = AgentBusModel.SignalsBetween(before, after, T0);

        AgentBusSignal[] expected =
            [new PatchStateChangedSignal("a", "disabling"), new PatchStateChangedSignal("new", "enabling"), new PatchStateChangedSignal("gone", "removed")];
        Assert.Equal(expected, signals.ToArray());
    }

    [Fact]
    public void A_new_kernel_is_signalled_with_its_release()
    {
        var signals = AgentBusModel.SignalsBetween(View([]), View([], release: "6.1.0-57-amd64"), T0);

        Assert.Equal([new KernelChangedSignal("6.1.0-57-amd64")], signals.ToArray());
    }

    [Fact]
    public void Becoming_stalled_signals_TransitionStalled_once_and_the_patch_as_stalled()
    {
        var transition = new TransitionView("b", Patching: true, T0);
        var patches = ImmutableArray.Create(Patch("b", transition: true));
        var running = View(patches, transition: transition);
        var stalled = View(patches, AgentState.Stalled, transition: transition, stall: new StallView("b", true, T0.AddSeconds(30), 2, "2 tasks"));

        var first = AgentBusModel.SignalsBetween(running, stalled, T0.AddSeconds(45));
        var again = AgentBusModel.SignalsBetween(stalled, stalled, T0.AddSeconds(46));

        AgentBusSignal[] expected = [new PatchStateChangedSignal("b", "stalled"), new TransitionStalledSignal("b", 2, 45)];
        Assert.Equal(expected, first.ToArray());
        Assert.Empty(again);
    }

    [Fact]
    public void LastError_is_the_degraded_reason_then_the_first_unreadable_value_then_empty()
    {
        var degraded = AgentBusState.From(View([], AgentState.Degraded, degraded: ["d-bus: not connected"]), "v", T0);
        var problem = AgentBusState.From(View([]) with
        {
            Snapshot = View([]).Snapshot with { Problems = [new ReadProblem("/proc/sys/kernel/tainted", "\"x\" is not a number")] },
        }, "v", T0);

        Assert.Equal("d-bus: not connected", degraded.LastError);
        Assert.Equal("degraded", degraded.State);
        Assert.Equal("/proc/sys/kernel/tainted: \"x\" is not a number", problem.LastError);
        Assert.Equal(string.Empty, AgentBusState.From(View([]), "v", T0).LastError);
    }

    [Fact]
    public void Forced_modules_are_announced_sorted()
    {
        var model = new AgentBusModel(View([Patch("a")]), "0.1.0", T0);

        var update = model.Apply(View([Patch("a")], forced: new HashSet<string> { "lpdemo_v2", "lpdemo_old" }), T0.AddSeconds(1));

        Assert.Equal(["ForcedPatches", "UpdatedAt"], update.ChangedProperties.Select(p => p.Name));
        Assert.Equal(["lpdemo_old", "lpdemo_v2"], update.State.ForcedPatches.ToArray());
    }

    [Fact]
    public void Timestamps_are_microseconds_since_the_epoch_and_zero_for_none()
    {
        Assert.Equal(0UL, AgentBusProperties.UnixMicroseconds(null));
        Assert.Equal(1_795_860_000_000_000UL, AgentBusProperties.UnixMicroseconds(T0));
    }
}

using System.Collections.Immutable;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.Posture;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Metrics;

namespace LivePatchAgent.Unit.Tests.Daemon.Metrics;

/// <summary>The states the fixtures produce, as metrics input: idle, transition, stalled, degraded, many patches.</summary>
internal static class MetricsFixtures
{
    public static readonly DateTimeOffset T0 = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);

    public static LivePatch Patch(string name, bool enabled = true, bool transition = false) =>
        DBus.AgentBusModelTests.Patch(name, enabled, transition);

    public static KernelSnapshot Snapshot(params LivePatch[] patches) => new()
    {
        TakenAt = T0,
        Kernel = new KernelFacts
        {
            Release = "6.1.0-56-amd64",
            BootId = "0d6b2c1e-1f2a-4b3c-9d4e-5f6a7b8c9d0e",
            Taint = new TaintMask((1UL << 15) | (1UL << 12) | (1UL << 13)),
            LivepatchSupported = true,
        },
        Patches = [.. patches],
        Progress = patches.Any(p => p.Transition) ? new TransitionProgress(120, 7) : null,
    };

    public static MetricsInput Input(AgentView view, IReadOnlyList<string>? installed = null,
        IReadOnlyDictionary<(OperationKind, OperationResultKind), long>? operations = null) => new(
        "0.1.0",
        T0.AddMinutes(-5),
        T0.AddSeconds(42),
        view,
        operations ?? ImmutableDictionary<(OperationKind, OperationResultKind), long>.Empty,
        installed ?? [],
        (3, 1),
        TimeSpan.FromSeconds(60));

    public static AgentView Idle() => View(new StateStore(), Snapshot(Patch("lp_cve_fix")));

    public static AgentView Transition()
    {
        var store = new StateStore();
        return View(store, Snapshot(Patch("lp_old"), Patch("lp_new", enabled: true, transition: true)));
    }

    public static AgentView Stalled()
    {
        var store = new StateStore();
        store.Update(Snapshot(Patch("lp_new", enabled: true, transition: true)));
        store.SetStall(new StallView("lp_new", true, T0.AddSeconds(30), 3, "3 tasks in lpdemo_sleeper_wait"));
        store.SetForcedModules(["lp_pinned"]);
        return store.Current;
    }

    public static AgentView Degraded()
    {
        var store = new StateStore();
        store.Update(Snapshot(Patch("lp_cve_fix")));
        store.SetDegraded(DegradedSource.Bus, "the D-Bus connection is lost");
        store.SetDegraded(DegradedSource.CrashLoopGuard, "start-up apply is held back");
        store.SetStartupApply(new StartupApplyStatus(StartupApplyPhase.Interrupted, "interrupted in boot x", null, "6.1.0-56-amd64",
            [new ApplyResultItem("lp_a", ApplyResultKind.Failed, "module-rejected", "the kernel refused it")]));
        return store.Current;
    }

    public static AgentView ManyPatches()
    {
        var store = new StateStore();
        var patches = Enumerable.Range(0, 40).Select(i => Patch($"lp_many_{i:D2}", enabled: i % 4 != 0)).ToArray();
        store.Update(Snapshot(patches));
        store.SetLoadedPatches(patches.Take(10).Select(p => new LoadedPatchRecord(p.Name, new string('a', 64),
            new PatchMetadata
            {
                CveIds = ["CVE-2026-0001", "CVE-2026-0002"],
                CveIdsSource = MetadataSource.SignedModinfo,
                Level = 3,
                LevelSource = MetadataSource.SignedModinfo,
                FixesVersion = "6.1.194-1",
                FixesVersionSource = MetadataSource.SignedModinfo,
            },
            PatchMetadata.None, T0.AddSeconds(-10))));
        store.SetPosture(Posture());
        store.SetStartupApply(new StartupApplyStatus(StartupApplyPhase.Done, null, null, "6.1.0-56-amd64",
        [
            new ApplyResultItem("lp_many_01", ApplyResultKind.Applied, null, "applied"),
            new ApplyResultItem("lp_superseded", ApplyResultKind.Superseded, null, "superseded by lp_many_01"),
        ]));
        return store.Current;
    }

    public static PostureView Posture() => new(
        new KernelPosture
        {
            Summary = new PostureSummary { Open = 2, FixedLive = 1 },
            Items =
            [
                Item("DSA-1", Severity.Critical, PostureState.Open),
                Item("DSA-2", Severity.Medium, PostureState.Open),
                Item("DSA-3", Severity.High, PostureState.FixedLive),
            ],
        },
        "/var/lib/livepatchd/advisories", 3, 1, [], T0);

    private static PostureItem Item(string id, Severity severity, PostureState state) =>
        new(id, [id], severity, "a flaw", state, [], "6.1.194-1");

    private static AgentView View(StateStore store, KernelSnapshot snapshot) => store.Update(snapshot);
}

using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Unit.Tests.Core.Kernel;

public sealed class FunctionOwnershipTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    private static LivePatch Patch(string name, int order, bool enabled = true, bool? patched = true, StackOrderSource source = StackOrderSource.ModuleLoadOrder, params string[] functions) => new()
    {
        Name = name,
        Enabled = enabled,
        Transition = false,
        StackOrder = source == StackOrderSource.Unknown ? null : order,
        StackOrderSource = source,
        Objects = [new PatchObject { Name = "vmlinux", Patched = patched, Functions = [.. functions.Select(f => new PatchFunction(f, 1))] }],
    };

    private static KernelSnapshot Snapshot(params LivePatch[] patches) => new()
    {
        TakenAt = Now,
        Kernel = new KernelFacts { LivepatchSupported = true },
        Patches = [.. patches],
    };

    private static PatchedFunction F(string name) => new("vmlinux", name, 1);

    [Fact]
    public void The_topmost_enabled_patch_serves_a_shared_function()
    {
        var snapshot = Snapshot(
            Patch("lp_one", 1, functions: ["cmdline_proc_show", "meminfo_proc_show"]),
            Patch("lp_two", 2, functions: ["version_proc_show"]),
            Patch("lp_three", 3, functions: ["cmdline_proc_show"]));

        var serving = FunctionOwnership.Serving(snapshot);

        Assert.Equal("lp_three", serving[F("cmdline_proc_show")]);
        Assert.Equal("lp_one", serving[F("meminfo_proc_show")]);
        Assert.Equal("lp_two", serving[F("version_proc_show")]);
        var hidden = Assert.Single(FunctionOwnership.Hidden(snapshot, snapshot.Patches[0]));
        Assert.Equal(F("cmdline_proc_show"), hidden.Function);
        Assert.Equal("lp_three", hidden.HiddenBy);
        Assert.Empty(FunctionOwnership.Hidden(snapshot, snapshot.Patches[2]));
    }

    [Fact]
    public void A_disabled_patch_or_an_unpatched_object_serves_nothing()
    {
        var snapshot = Snapshot(
            Patch("lp_one", 1, functions: ["f"]),
            Patch("lp_two", 2, enabled: false, functions: ["f"]),
            Patch("lp_three", 3, patched: false, functions: ["f"]));

        Assert.Equal("lp_one", FunctionOwnership.Serving(snapshot)[F("f")]);
    }

    [Fact]
    public void Without_the_order_there_is_no_answer_rather_than_a_guess()
    {
        var snapshot = Snapshot(
            Patch("lp_one", 1, source: StackOrderSource.Unknown, functions: ["f"]),
            Patch("lp_two", 2, source: StackOrderSource.Unknown, functions: ["f"]));

        Assert.Empty(FunctionOwnership.Serving(snapshot));
        Assert.Empty(FunctionOwnership.Hidden(snapshot, snapshot.Patches[0]));
    }
}

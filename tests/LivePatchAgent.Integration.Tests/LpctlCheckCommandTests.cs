using Google.Protobuf;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Integration.Tests;

/// <summary>lpctl check as monitoring runs it: the line on stdout and the exit code for each state of the daemon.</summary>
public sealed class LpctlCheckCommandTests : SimulatedHostTests
{
    public LpctlCheckCommandTests()
        : base("lpctl-check-")
    {
    }

    [Fact]
    public async Task Idle_exits_0_with_an_ok_line()
    {
        Fixture.AddPatch("lp_done", enabled: true);
        await using var daemon = await StartAsync();
        await DaemonHarness.WaitForAsync(async () => (await daemon.Client.GetStatusAsync(new GetStatusRequest())).PatchCount == 1);

        var run = await Lpctl(daemon, "check");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal($"LIVEPATCH OK - idle, 1 of 1 patch(es) enabled on {ModuleImage.Release}\n", run.Out);
    }

    [Fact]
    public async Task A_running_transition_exits_1_and_a_stalled_one_exits_2()
    {
        await using var daemon = await StartAsync("Transitions:StallAfter=00:00:03", "Transitions:ResolveAfter=00:10:00", "Transitions:OnStall=None");
        Kernel.Stuck["lp_unit"] = true;
        var image = new ModuleImage().With("name", "lp_unit");
        image.StructModuleName = "lp_unit";
        await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(TestSigningKey.Trusted.Sign(image.Build())), NoWait = true });

        var running = await Lpctl(daemon, "check");
        await DaemonHarness.WaitForAsync(async () => (await daemon.Client.GetStatusAsync(new GetStatusRequest())).State == AgentState.Stalled);
        var stalled = await Lpctl(daemon, "-o", "json", "check");

        Assert.True(running.ExitCode == 1, running.ToString());
        Assert.StartsWith("LIVEPATCH WARNING - lp_unit patching for ", running.Out, StringComparison.Ordinal);
        Assert.True(stalled.ExitCode == 2, stalled.ToString());
        Assert.Contains("\"status\": \"CRITICAL\"", stalled.Out, StringComparison.Ordinal);
        Assert.Contains("\"state\": \"stalled\"", stalled.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unsupported_kernel_exits_3()
    {
        Fixture.WithoutLivepatch();
        await using var daemon = await StartAsync();

        var run = await Lpctl(daemon, "check");

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.StartsWith("LIVEPATCH UNKNOWN - the running kernel", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_daemon_exits_3_with_the_reason_on_stdout()
    {
        var run = await LpctlProcess.RunAsync(["--socket", Path.Combine(Files.FullName, "absent.sock"), "check"]);

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.StartsWith("LIVEPATCH UNKNOWN - ", run.Out, StringComparison.Ordinal);
        Assert.Contains("(daemon-unreachable)", run.Out, StringComparison.Ordinal);
    }
}

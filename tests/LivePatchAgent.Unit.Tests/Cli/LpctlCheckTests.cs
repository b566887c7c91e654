using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Cli.Commands;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary>lpctl check's verdict: the exit codes of docs/api.md (also the Nagios plugin codes) and one sentence.</summary>
public sealed class LpctlCheckTests
{
    [Fact]
    public void Idle_is_0_with_the_patch_counts()
    {
        var result = CheckCommand.Evaluate(ProtocolSamples.IdleStatus());

        Assert.Equal((0, "idle"), (result.ExitCode, result.State));
        Assert.Equal("idle, 1 of 1 patch(es) enabled on 6.1.0-56-amd64", result.Message);
    }

    [Fact]
    public void A_running_transition_is_1_naming_the_patch_and_direction()
    {
        var status = ProtocolSamples.IdleStatus();
        status.State = AgentState.Transitioning;
        status.Transition = new Transition { Patch = "lpdemo_v3", Patching = true, Elapsed = Duration.FromTimeSpan(TimeSpan.FromSeconds(12)) };

        var result = CheckCommand.Evaluate(status);

        Assert.Equal((1, "transitioning"), (result.ExitCode, result.State));
        Assert.StartsWith("lpdemo_v3 patching for 12 s", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stalled_transition_is_2_with_the_blocking_count()
    {
        var status = ProtocolSamples.IdleStatus();
        status.State = AgentState.Stalled;
        status.BlockingTasks = 3;
        status.Transition = new Transition { Patch = "lpdemo_v3", Patching = false, Elapsed = Duration.FromTimeSpan(TimeSpan.FromSeconds(95)) };

        var result = CheckCommand.Evaluate(status);

        Assert.Equal((2, "stalled"), (result.ExitCode, result.State));
        Assert.Equal("stalled: lpdemo_v3 unpatching for 95 s, 3 blocking task(s); see lpctl blocking", result.Message);
    }

    [Theory]
    [InlineData(AgentState.Unsupported, "unsupported")]
    [InlineData(AgentState.Degraded, "degraded")]
    [InlineData(AgentState.Unspecified, "unknown")]
    public void Unsupported_degraded_and_anything_else_are_3(AgentState state, string word)
    {
        var status = ProtocolSamples.IdleStatus();
        status.State = state;
        status.Problems.Add(new Problem { Path = "/sys/kernel/livepatch/x/enabled", Message = "cannot parse \"?\"" });

        var result = CheckCommand.Evaluate(status);

        Assert.Equal((3, word), (result.ExitCode, result.State));
        if (state == AgentState.Degraded)
        {
            Assert.Contains("cannot parse", result.Message, StringComparison.Ordinal);
        }
    }
}

using System.Collections.Immutable;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Hosting;
using LivePatchAgent.Unit.Tests.Daemon.DBus;

namespace LivePatchAgent.Unit.Tests.Daemon.Hosting;

/// <summary>The STATUS= line `systemctl status livepatchd` shows.</summary>
public sealed class SystemdStatusTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Idle_counts_the_enabled_patches()
    {
        Assert.Equal("2 patches enabled, idle", Status(AgentBusModelTests.View([AgentBusModelTests.Patch("a"), AgentBusModelTests.Patch("b")])));
        Assert.Equal("1 patch enabled, idle", Status(AgentBusModelTests.View([AgentBusModelTests.Patch("a"), AgentBusModelTests.Patch("b", enabled: false)])));
        Assert.Equal("0 patches enabled, idle", Status(AgentBusModelTests.View([])));
    }

    [Fact]
    public void A_stalled_transition_names_the_patch_and_how_long()
    {
        var view = AgentBusModelTests.View(
            [AgentBusModelTests.Patch("lpdemo_v3", transition: true)], AgentState.Stalled, transition: new TransitionView("lpdemo_v3", true, T0),
            stall: new StallView("lpdemo_v3", true, T0.AddSeconds(30), 1, "1 task"));

        Assert.Equal("transition stalled: lpdemo_v3, 1 task, 45 s", SystemdStatus.Describe(view, T0.AddSeconds(45.7)));
        Assert.Equal("transition stalled: lpdemo_v3, 3 tasks, 46 s", SystemdStatus.Describe(view with { Stall = view.Stall! with { BlockingTasks = 3 } }, T0.AddSeconds(46)));
    }

    [Fact]
    public void A_running_transition_says_which_way()
    {
        var view = AgentBusModelTests.View(
            [AgentBusModelTests.Patch("a"), AgentBusModelTests.Patch("b", enabled: false, transition: true)],
            transition: new TransitionView("b", Patching: false, T0));

        Assert.Equal("transition running: b (unpatching), 1 patch enabled", Status(view));
    }

    [Fact]
    public void Unsupported_and_degraded_say_why()
    {
        Assert.Equal("livepatch unsupported by this kernel", Status(AgentBusModelTests.View([], AgentState.Unsupported, supported: false)));
        Assert.Equal(
            "degraded: d-bus: not connected; 0 patches enabled",
            Status(AgentBusModelTests.View([], AgentState.Degraded, degraded: ["d-bus: not connected"])));
    }

    [Fact]
    public void Unreadable_values_are_pointed_out()
    {
        var view = AgentBusModelTests.View([AgentBusModelTests.Patch("a")]);
        view = view with { Snapshot = view.Snapshot with { Problems = [new ReadProblem("/x", "bad")] } };

        Assert.Equal("1 patch enabled, idle; 1 unreadable value (lpctl status)", Status(view));
    }

    private static string Status(AgentView view) => SystemdStatus.Describe(view, T0);
}

/// <summary>Reading what the service manager passed: NOTIFY_SOCKET, the watchdog and LISTEN_FDS.</summary>
public sealed class SystemdEnvironmentTests
{
    private static SystemdEnvironment Parse(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value);
        return SystemdEnvironment.FromVariables(name => map.GetValueOrDefault(name));
    }

    [Fact]
    public void Nothing_set_means_not_under_a_service_manager()
    {
        var environment = Parse();

        Assert.Null(environment.NotifySocket);
        Assert.Null(environment.WatchdogInterval(42));
        Assert.Equal(0, environment.ActivatedFdCount(42));
        Assert.Empty(environment.Problems);
    }

    [Fact]
    public void The_watchdog_runs_at_half_the_timeout_for_this_process_only()
    {
        var unset = Parse(("WATCHDOG_USEC", "30000000"));
        var ours = Parse(("WATCHDOG_USEC", "400000"), ("WATCHDOG_PID", "42"));
        var other = Parse(("WATCHDOG_USEC", "400000"), ("WATCHDOG_PID", "43"));

        Assert.Equal(TimeSpan.FromSeconds(15), unset.WatchdogInterval(42));
        Assert.Equal(TimeSpan.FromMilliseconds(200), ours.WatchdogInterval(42));
        Assert.Null(other.WatchdogInterval(42));
        Assert.Null(Parse(("WATCHDOG_USEC", "0")).WatchdogInterval(42));
    }

    [Fact]
    public void Sockets_count_only_when_LISTEN_PID_is_this_process()
    {
        var environment = Parse(("LISTEN_PID", "42"), ("LISTEN_FDS", "2"), ("LISTEN_FDNAMES", "grpc:other"));

        Assert.Equal(2, environment.ActivatedFdCount(42));
        Assert.Equal(0, environment.ActivatedFdCount(7));
        Assert.Equal(["grpc", "other"], environment.ListenFdNames.ToArray());
    }

    [Fact]
    public void Unusable_numbers_are_ignored_and_reported()
    {
        var environment = Parse(("WATCHDOG_USEC", "soon"), ("LISTEN_FDS", "-1"));

        Assert.Null(environment.WatchdogInterval(42));
        Assert.Equal(0, environment.ListenFds);
        Assert.Equal(["WATCHDOG_USEC=soon is not a number; ignored"], environment.Problems.ToArray());
    }

    [Fact]
    public void The_grpc_descriptor_is_found_by_name_or_as_the_only_one()
    {
        Assert.Equal(1, SystemdSocketActivation.ChooseDescriptor(2, ["other", "grpc"], out _));
        Assert.Equal(0, SystemdSocketActivation.ChooseDescriptor(1, [], out _));
        Assert.Equal(0, SystemdSocketActivation.ChooseDescriptor(1, ["livepatchd.socket"], out _));
        Assert.Null(SystemdSocketActivation.ChooseDescriptor(2, ["a", "b"], out var problem));
        Assert.Contains("FileDescriptorName=grpc", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/run/systemd/notify", "/run/systemd/notify")]
    [InlineData("@lpd-test", "\0lpd-test")]
    public void Notify_addresses_are_paths_or_abstract_names(string variable, string expected)
    {
        var endpoint = SystemdNotifier.ParseEndpoint(variable, out var problem);

        Assert.Null(problem);
        Assert.Equal(expected, endpoint!.ToString().Replace('@', '\0'));
    }

    [Theory]
    [InlineData("vsock:2:1234")]
    [InlineData("relative/path")]
    public void Other_notify_addresses_are_refused_with_a_reason(string variable)
    {
        Assert.Null(SystemdNotifier.ParseEndpoint(variable, out var problem));
        Assert.NotNull(problem);
    }

    [Fact]
    public void Journal_formatting_needs_stderr_to_be_the_journal_stream()
    {
        Assert.False(SystemdIntegration.IsStderrTheJournal(null));
        Assert.False(SystemdIntegration.IsStderrTheJournal("8:12345"));
    }
}

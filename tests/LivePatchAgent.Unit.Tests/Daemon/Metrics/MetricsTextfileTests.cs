using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Api;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Metrics;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Daemon.Store;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static LivePatchAgent.Unit.Tests.Daemon.Metrics.MetricsFixtures;

namespace LivePatchAgent.Unit.Tests.Daemon.Metrics;

/// <summary>The textfile: atomic replacement, its permissions, when it is written, and a missing directory.</summary>
public sealed class MetricsTextfileTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("lpa-metrics-");
    private readonly FakeTimeProvider _time = new(T0);

    public void Dispose() => _dir.Delete(recursive: true);

    private MetricsService Service(StateStore state, string? textfileDir = null) => new(
        Options.Create(new MetricsOptions { TextfileDir = textfileDir ?? _dir.FullName }),
        Options.Create(new PathsOptions()),
        state,
        new OperationTracker(state),
        new PatchStore(Path.Combine(_dir.FullName, "store")),
        new DaemonInfo("0.1.0", T0),
        _time,
        NullLogger<MetricsService>.Instance);

    [Fact]
    public void The_file_is_replaced_whole_readable_by_node_exporter_and_leaves_no_temporary_file()
    {
        var path = Path.Combine(_dir.FullName, "livepatchd.prom");
        File.WriteAllText(path, "old\n");
        var old = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

        DurableFile.Write(path, "new\n"u8, old);

        Assert.Equal("new\n", File.ReadAllText(path));
        Assert.Equal(old, File.GetUnixFileMode(path));
        Assert.Equal(["livepatchd.prom"], _dir.GetFiles().Select(f => f.Name));
    }

    [Theory]
    [InlineData(DurableFileStep.WriteTemp)]
    [InlineData(DurableFileStep.SyncTemp)]
    [InlineData(DurableFileStep.Rename)]
    public void A_write_that_fails_before_the_rename_leaves_the_old_file_whole_and_no_temporary_file(DurableFileStep failAt)
    {
        var path = Path.Combine(_dir.FullName, "livepatchd.prom");
        File.WriteAllText(path, "old\n");

        Assert.Throws<IOException>(() => DurableFile.Write(path, "new\n"u8, UnixFileMode.UserRead, (step, _) =>
        {
            if (step == failAt)
            {
                throw new IOException("injected");
            }
        }));

        Assert.Equal("old\n", File.ReadAllText(path));
        Assert.Equal(["livepatchd.prom"], _dir.GetFiles().Select(f => f.Name));
    }

    [Fact]
    public void The_service_writes_the_exposition_and_rewrites_it_only_when_it_changed_or_the_refresh_is_due()
    {
        var state = new StateStore();
        state.Update(Snapshot(Patch("lp_a")));
        using var service = Service(state);
        var path = Path.Combine(_dir.FullName, "livepatchd.prom");

        Assert.True(service.WriteIfDue(force: false));
        var first = File.ReadAllText(path);
        _time.Advance(TimeSpan.FromSeconds(5));
        var unchanged = service.WriteIfDue(force: false);
        state.Update(Snapshot(Patch("lp_a"), Patch("lp_b")));
        var changed = service.WriteIfDue(force: false);
        var second = File.ReadAllText(path);
        var refreshed = service.WriteIfDue(force: true);

        Assert.False(unchanged);
        Assert.True(changed);
        Assert.True(refreshed);
        Assert.True(service.FileWritten);
        Assert.Contains("livepatchd_patches{state=\"enabled\"} 1\n", first, StringComparison.Ordinal);
        Assert.Contains("livepatchd_patches{state=\"enabled\"} 2\n", second, StringComparison.Ordinal);
        Assert.Equal(service.Render().Split('\n').Length, second.Split('\n').Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(path));
    }

    [Fact]
    public void A_configured_directory_that_is_missing_degrades_the_daemon_until_it_appears()
    {
        var state = new StateStore();
        state.Update(Snapshot(Patch("lp_a")));
        var missing = Path.Combine(_dir.FullName, "node-exporter");
        using var service = Service(state, missing);

        var wrote = service.WriteIfDue(force: true);
        var degraded = state.Current;
        Directory.CreateDirectory(missing);
        var wroteLater = service.WriteIfDue(force: true);

        Assert.False(wrote);
        Assert.Equal(AgentState.Degraded, degraded.State);
        Assert.Equal($"Metrics:TextfileDir {missing} does not exist: create it (node_exporter's --collector.textfile.directory) or change the setting",
            degraded.Degraded["metrics"]);
        Assert.True(wroteLater);
        Assert.Empty(state.Current.Degraded);
        Assert.True(File.Exists(Path.Combine(missing, "livepatchd.prom")));
    }

    [Fact]
    public async Task A_burst_of_changes_is_one_write_after_the_coalescing_window()
    {
        var schedule = new WriteSchedule(_time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        for (var i = 0; i < 5; i++)
        {
            schedule.Changed();
        }

        var wait = schedule.WaitAsync(CancellationToken.None);

        _time.Advance(TimeSpan.FromMilliseconds(999));
        var beforeWindow = wait.IsCompleted;
        schedule.Changed();
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.False(beforeWindow);
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Without_changes_the_refresh_interval_is_due_and_a_change_after_a_write_is_the_next_one()
    {
        var schedule = new WriteSchedule(_time, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var idle = schedule.WaitAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(59));
        var early = idle.IsCompleted;
        _time.Advance(TimeSpan.FromSeconds(1));
        var idleWoken = await idle.WaitAsync(TimeSpan.FromSeconds(10));

        schedule.Changed();
        var next = schedule.WaitAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.False(early);
        Assert.False(idleWoken);
        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}

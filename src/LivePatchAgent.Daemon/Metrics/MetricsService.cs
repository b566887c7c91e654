using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Api;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Daemon.Store;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Metrics;

/// <summary>
/// Renders the metrics (<see cref="MetricsRenderer"/>) for <c>lpctl metrics</c>, and keeps
/// &lt;Metrics:TextfileDir&gt;/livepatchd.prom up to date for node_exporter's textfile collector: written atomically
/// (a temporary file, fsync, rename, fsync of the directory) a coalescing window after the state changes, and at
/// least every Metrics:RefreshInterval. A directory the operator named that is missing or unwritable makes the daemon
/// degraded (source "metrics"); the default directory missing only means node_exporter is not installed.
/// </summary>
internal sealed class MetricsService : BackgroundService
{
    /// <summary>The file is for node_exporter, which runs as another user: readable by all, whatever the daemon's umask.</summary>
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static DegradedSource Degraded { get; } = new("metrics");

    private readonly MetricsOptions _options;
    private readonly string _directory;
    private readonly StateStore _state;
    private readonly OperationTracker _operations;
    private readonly PatchStore _store;
    private readonly DaemonInfo _daemon;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<MetricsService> _logger;
    private readonly WriteSchedule _schedule;
    private readonly Lock _lock = new();
    private TransitionView? _lastTransition;
    private long _patching;
    private long _unpatching;
    private string? _writtenKey;
    private string? _problem;
    private bool _offLogged;
    private volatile bool _written;

    public MetricsService(IOptions<MetricsOptions> options, IOptions<PathsOptions> paths, StateStore state, OperationTracker operations, PatchStore store,
        DaemonInfo daemon, TimeProvider timeProvider, ILogger<MetricsService> logger)
    {
        _options = options.Value;
        _directory = _options.EffectiveDirectory(paths.Value.HostRoot);
        _state = state;
        _operations = operations;
        _store = store;
        _daemon = daemon;
        _timeProvider = timeProvider;
        _logger = logger;
        _schedule = new WriteSchedule(timeProvider, _options.CoalesceWindow, _options.RefreshInterval);
        // Subscribed at construction (before the hosted services start), so no transition of the first seconds is missed.
        _state.Changed += OnStateChanged;
        _operations.OperationFinished += _schedule.Changed;
        _store.Changed += _schedule.Changed;
    }

    /// <summary>The file the daemon writes (it may not exist: see <see cref="MetricsOptions.TextfileDir"/>).</summary>
    public string FilePath => Path.Combine(_directory, MetricsOptions.FileName);

    /// <summary>Whether the last attempt wrote the file (false while the directory is missing or the write fails, and when off).</summary>
    public bool FileWritten => _written;

    /// <summary>The exposition now, as <c>lpctl metrics</c> prints it and the file holds it.</summary>
    public string Render() => MetricsRenderer.Render(Input(_timeProvider.GetUtcNow()));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            MetricsLog.Disabled(_logger);
            return;
        }

        try
        {
            RemoveLeftovers();
            var due = true;
            while (!stoppingToken.IsCancellationRequested)
            {
                if (_state.HasSnapshot)
                {
                    await Task.Run(() => WriteIfDue(force: due), stoppingToken).ConfigureAwait(false);
                }

                // A change wakes the loop, but only a change in what the file says is written before the refresh.
                due = !await _schedule.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Writes the file when <paramref name="force"/> (the refresh) or when its content changed; returns whether it wrote.</summary>
    internal bool WriteIfDue(bool force)
    {
        var directory = _directory;
        if (!Directory.Exists(directory))
        {
            if (_options.IsConfiguredDir())
            {
                Fail($"Metrics:TextfileDir {directory} does not exist: create it (node_exporter's --collector.textfile.directory) or change the setting");
            }
            else if (!_offLogged)
            {
                _offLogged = true;
                MetricsLog.NoTextfileDir(_logger, directory);
            }

            _written = false;
            return false;
        }

        var input = Input(_timeProvider.GetUtcNow());
        // The content without the clock: a poll that changed nothing writes nothing until the refresh.
        var key = MetricsRenderer.Render(input with { Now = input.StartedAt });
        if (!force && key == _writtenKey && _problem is null)
        {
            return false;
        }

        var path = Path.Combine(directory, MetricsOptions.FileName);
        try
        {
            DurableFile.Write(path, System.Text.Encoding.UTF8.GetBytes(MetricsRenderer.Render(input)), FileMode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail($"cannot write the metrics file {path}: {e.Message}");
            return false;
        }

        _writtenKey = key;
        _written = true;
        if (_problem is not null || !_offLogged)
        {
            MetricsLog.Writing(_logger, path, _options.RefreshInterval);
            _problem = null;
            _offLogged = true;
            _state.SetDegraded(Degraded, null);
        }

        return true;
    }

    private void Fail(string problem)
    {
        _written = false;
        if (problem != _problem)
        {
            _problem = problem;
            MetricsLog.WriteFailed(_logger, problem);
        }

        _state.SetDegraded(Degraded, problem);
    }

    private MetricsInput Input(DateTimeOffset now)
    {
        var view = _state.Current;
        IReadOnlyList<string> installed = view.Snapshot.Kernel.Release is { } release && _store.Releases().Contains(release)
            ? [.. _store.List(release, []).Select(m => m.Name)]
            : [];
        (long, long) transitions;
        lock (_lock)
        {
            transitions = (_patching, _unpatching);
        }

        return new MetricsInput(_daemon.Version, _daemon.StartedAt, now, view, _operations.Totals, installed, transitions, _options.RefreshInterval);
    }

    /// <summary>Counts each transition once, when it first shows in a view.</summary>
    private void OnStateChanged(AgentView view)
    {
        lock (_lock)
        {
            if (view.Transition is { } t && !Equals(t, _lastTransition))
            {
                if (t.Patching)
                {
                    _patching++;
                }
                else
                {
                    _unpatching++;
                }
            }

            _lastTransition = view.Transition;
        }

        _schedule.Changed();
    }

    /// <summary>Temporary files a crash left behind (node_exporter ignores them, but they should not pile up).</summary>
    private void RemoveLeftovers()
    {
        var directory = _directory;
        if (!Directory.Exists(directory))
        {
            return;
        }

        try
        {
            foreach (var leftover in Directory.EnumerateFiles(directory, $"{DurableFile.TempPrefix}{MetricsOptions.FileName}.*{DurableFile.TempSuffix}"))
            {
                File.Delete(leftover);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            MetricsLog.WriteFailed(_logger, $"cannot remove temporary files in {directory}: {e.Message}");
        }
    }

    public override void Dispose()
    {
        _state.Changed -= OnStateChanged;
        _operations.OperationFinished -= _schedule.Changed;
        _store.Changed -= _schedule.Changed;
        base.Dispose();
    }
}

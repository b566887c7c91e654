using System.Collections.Immutable;
using System.Threading.Channels;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Health;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Linux;
using LivePatchAgent.Linux.Kmsg;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Health;

/// <summary>
/// The kernel health guard, beside the transition supervisor: it reads the kernel log (HostPaths.Kmsg) from its end on
/// a thread of its own, assembles and classifies the kernel's complaints, watches the taint mask for new W, D and L
/// bits, and attributes each complaint to a patch whose health window is open (Health:Window after its transition
/// completed). By Health:OnKernelWarning / Health:OnKernelBug it reverts and quarantines the patch (through
/// <see cref="PatchQuarantine"/>, an operation), alerts, or only records. The reader hands records over a bounded
/// queue and never waits for the guard; a reader failure degrades the daemon and is retried.
/// </summary>
internal sealed class HealthGuard(
    IOptions<HealthOptions> options,
    HostPaths host,
    StateStore state,
    EventHub hub,
    QuarantineStore quarantine,
    PatchQuarantine actions,
    TimeProvider timeProvider,
    ILogger<HealthGuard> logger) : BackgroundService
{
    /// <summary>How long a new taint bit waits for the log record that explains it.</summary>
    private static readonly TimeSpan TaintSettle = TimeSpan.FromSeconds(3);

    /// <summary>A report of the matching kind this close to a new taint bit explains it.</summary>
    private static readonly TimeSpan TaintExplained = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    /// <summary>How often the guard looks again while a report is assembling or a taint bit is settling.</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private const int KeepReports = 20;

    private readonly HealthOptions _options = options.Value;
    private readonly Channel<KmsgEntry> _records = Channel.CreateBounded<KmsgEntry>(new BoundedChannelOptions(4096)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
        SingleWriter = true,
    });

    /// <summary>
    /// Set when there is work: records from the reader, or a new snapshot. One waiter at a time, and a wait that
    /// times out leaves nothing behind (a channel's WaitToReadAsync abandoned by a timeout stays queued until the
    /// next record, about 260 bytes every tick on a quiet kernel log). Never disposed: the reader thread may still
    /// signal it while the host stops, and a SemaphoreSlim whose wait handle is never asked for holds nothing to free.
    /// </summary>
    private readonly SemaphoreSlim _work = new(0);
    private KernelSnapshot? _signalled;
    private readonly Lock _lock = new();
    private readonly KernelReportAssembler _assembler = new();
    private readonly Dictionary<KernelReportKind, DateTimeOffset> _lastReportAt = [];
    private readonly List<(char Letter, KernelReportKind Kind, DateTimeOffset SeenAt)> _pendingTaints = [];
    private ReportRateLimit _rateLimit = null!;
    private ImmutableArray<HealthWindow> _windows = [];
    private ImmutableArray<HealthReportView> _recent = [];
    private HashSet<string>? _enabledIdle;
    private ulong? _taint;
    private long _reportId;
    private HealthReaderState _reader = HealthReaderState.Starting;
    private string? _readerProblem;
    private ulong _missed;
    private long _queueDropped;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // The baseline, before start-up apply (a later hosted service) loads anything: patches applied before the
        // guard started get no window, and the taint bits already set are not new.
        if (state.HasSnapshot)
        {
            var snapshot = state.Current.Snapshot;
            _enabledIdle = [.. snapshot.Patches.Where(p => p.Enabled && !p.Transition).Select(p => p.Name)];
            _taint = snapshot.Kernel.Taint?.Value;
        }

        _rateLimit = new ReportRateLimit(_options.MaxReportsPerMinute);
        Publish();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (quarantine.LoadProblem is { } problem)
        {
            HealthLog.QuarantineUnreadable(logger, problem);
        }

        quarantine.Changed += Publish;
        state.Changed += OnStateChanged;
        try
        {
            if (!_options.Enabled)
            {
                SetReader(HealthReaderState.Unavailable, "Health:Enabled is false: the kernel health guard is off");
                await Task.Delay(Timeout.InfiniteTimeSpan, timeProvider, stoppingToken).ConfigureAwait(false);
                return;
            }

            HealthLog.Watching(logger, host.Kmsg, Word(_options.OnKernelWarning), Word(_options.OnKernelBug), _options.Window);
            var reader = Task.Factory.StartNew(() => ReadLoop(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            while (!stoppingToken.IsCancellationRequested)
            {
                await WaitForWorkAsync(stoppingToken).ConfigureAwait(false);
                var now = timeProvider.GetUtcNow();
                while (_records.Reader.TryRead(out var entry))
                {
                    Observe(entry, now);
                }

                Step(now);
            }

            await reader.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            state.Changed -= OnStateChanged;
            quarantine.Changed -= Publish;
        }
    }

    /// <summary>
    /// Waits for records or a new snapshot (the watcher's poll, once a second when idle). Only while a report is
    /// assembling (it ends after a quiet second) or a new taint bit is settling does the guard also wake at the tick,
    /// so an idle guard costs nothing between polls.
    /// </summary>
    private async Task WaitForWorkAsync(CancellationToken stoppingToken)
    {
        if (!_assembler.Pending && _pendingTaints.Count == 0)
        {
            await _work.WaitAsync(stoppingToken).ConfigureAwait(false);
            return;
        }

        using var tick = new CancellationTokenSource(Tick, timeProvider);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, tick.Token);
        try
        {
            await _work.WaitAsync(either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The tick: the assembling report and the settling taint bits are looked at again.
        }
    }

    private void SignalWork()
    {
        // At most one wake-up outstanding: the loop drains everything there is each time it runs.
        if (_work.CurrentCount == 0)
        {
            _work.Release();
        }
    }

    private void OnStateChanged(AgentView view)
    {
        // Degraded reasons, posture and the guard's own publishing change the view too; only a new snapshot matters.
        if (!ReferenceEquals(Interlocked.Exchange(ref _signalled, view.Snapshot), view.Snapshot))
        {
            SignalWork();
        }
    }

    /// <summary>The reader thread: open, read, hand over; on failure degrade, wait, and open again.</summary>
    private void ReadLoop(CancellationToken stoppingToken)
    {
        var path = host.Kmsg;
        var buffer = new byte[64 * 1024];
        var records = new KmsgRecordReader();
        ulong malformedLogged = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (!File.Exists(path))
            {
                SetReader(HealthReaderState.Unavailable, $"{path} does not exist");
                stoppingToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(30));
                continue;
            }

            try
            {
                using var source = KernelLogSource.OpenAtEnd(path);
                SetReader(HealthReaderState.Watching, null);
                while (!stoppingToken.IsCancellationRequested)
                {
                    switch (source.Read(buffer, 500, out var count))
                    {
                        case KernelLogRead.Data:
                            foreach (var entry in records.Feed(buffer.AsSpan(0, count)))
                            {
                                if (!_records.Writer.TryWrite(entry))
                                {
                                    // A flood the guard cannot keep up with: the records are dropped here, never waited for.
                                    Interlocked.Increment(ref _queueDropped);
                                }
                            }

                            SignalWork();

                            if (records.Malformed > malformedLogged)
                            {
                                malformedLogged = records.Malformed;
                                HealthLog.MalformedRecord(logger, records.LastProblem ?? "?");
                            }

                            break;
                        case KernelLogRead.Overwritten:
                            records.Overwritten();
                            break;
                        case KernelLogRead.End:
                            stoppingToken.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(200));
                            break;
                    }
                }
            }
            catch (IOException e)
            {
                SetReader(HealthReaderState.Failed, e.Message);
                stoppingToken.WaitHandle.WaitOne(RetryDelay);
            }
        }
    }

    /// <summary>One record, on the guard's loop.</summary>
    private void Observe(KmsgEntry entry, DateTimeOffset now)
    {
        if (entry.MissedBefore > 0)
        {
            _missed += entry.MissedBefore;
            HealthLog.RecordsMissed(logger, entry.MissedBefore, _missed);
            Publish();
        }

        foreach (var report in _assembler.Add(entry.Record, now))
        {
            Handle(report, now);
        }
    }

    /// <summary>The periodic part: quiet reports, health windows, the taint mask.</summary>
    private void Step(DateTimeOffset now)
    {
        if (_assembler.Flush(now) is { } quiet)
        {
            Handle(quiet, now);
        }

        if (!state.HasSnapshot)
        {
            return;
        }

        var view = state.Current;
        var changed = FollowWindows(view.Snapshot, now);
        FollowTaint(view.Snapshot, now);
        if (Interlocked.Exchange(ref _queueDropped, 0) is var dropped and > 0)
        {
            HealthLog.Suppressed(logger, dropped, _options.MaxReportsPerMinute);
        }

        if (changed)
        {
            Publish();
        }
    }

    /// <summary>
    /// Opens a window for every patch that became enabled and idle since the last step (its patching transition
    /// completed); a patch that is gone loses its window. Patches already applied when the guard started get none.
    /// </summary>
    private bool FollowWindows(KernelSnapshot snapshot, DateTimeOffset now)
    {
        var idle = snapshot.Patches.Where(p => p.Enabled && !p.Transition).ToDictionary(p => p.Name, StringComparer.Ordinal);
        var windows = _windows.Where(w => snapshot.FindPatch(w.Patch) is not null).ToImmutableArray();
        var changed = windows.Length != _windows.Length;
        if (_enabledIdle is not null)
        {
            foreach (var (name, patch) in idle.Where(p => !_enabledIdle.Contains(p.Key)))
            {
                var window = HealthWindow.For(patch, now, _options.Window);
                windows = [.. windows.Where(w => w.Patch != name), window];
                changed = true;
                HealthLog.WindowOpened(logger, name, window.ClosesAt);
            }
        }

        _enabledIdle = [.. idle.Keys];
        _windows = windows;
        return changed;
    }

    private void FollowTaint(KernelSnapshot snapshot, DateTimeOffset now)
    {
        if (snapshot.Kernel.Taint is not { } mask)
        {
            return;
        }

        if (_taint is { } previous)
        {
            var bits = HealthTaint.NewBits(previous, mask.Value).ToList();
            if (bits.Count > 0)
            {
                _pendingTaints.AddRange(bits.Select(b => (b.Letter, b.Kind, now)));
            }
        }

        _taint = mask.Value;
        foreach (var pending in _pendingTaints.Where(p => now - p.SeenAt >= TaintSettle).ToList())
        {
            _pendingTaints.Remove(pending);
            var explained = _lastReportAt.Any(r => Explains(r.Key, pending.Kind) && r.Value >= pending.SeenAt - TaintExplained);
            var attribution = explained
                ? null
                : HealthAttribution.AttributeTaint(pending.Letter, _windows, pending.SeenAt);

            // Whatever set it, it was a new taint: no later one is the first of these windows.
            _windows = [.. _windows.Select(w => w.IsOpenAt(pending.SeenAt) ? w with { TaintSeen = true } : w)];
            if (attribution is not null)
            {
                var flag = TaintMask.Flags.First(f => f.Letter == pending.Letter);
                Act(pending.Kind, $"taint {flag.Letter} set ({flag.Meaning}) with no kernel log record to explain it", attribution, [], null, fromTaint: true, now);
            }
        }
    }

    private static bool Explains(KernelReportKind report, KernelReportKind taint) => taint switch
    {
        KernelReportKind.Bug => report is KernelReportKind.Bug,
        KernelReportKind.SoftLockup => report is KernelReportKind.SoftLockup,
        _ => report is KernelReportKind.Warning or KernelReportKind.LivepatchError or KernelReportKind.RcuStall or KernelReportKind.HungTask,
    };

    private void Handle(KernelReport report, DateTimeOffset now)
    {
        _lastReportAt[report.Kind] = now;
        if (!_rateLimit.TryAcquire(now, out var suppressed))
        {
            if (_rateLimit.Suppressed == 1)
            {
                Publish();
            }

            return;
        }

        if (suppressed > 0)
        {
            HealthLog.Suppressed(logger, suppressed, _options.MaxReportsPerMinute);
        }

        var attribution = HealthAttribution.Attribute(report, _windows, now);
        Act(report.Kind, report.Headline, attribution, report.Lines, report.Sequence, fromTaint: false, now);
    }

    /// <summary>Applies the policy to one attributed (or unattributed) report, and records and announces it.</summary>
    private void Act(KernelReportKind kind, string headline, Attribution attribution, ImmutableArray<string> lines, ulong? sequence, bool fromTaint, DateTimeOffset now)
    {
        var bug = kind is KernelReportKind.Bug or KernelReportKind.HardLockup;
        var setting = bug ? "Health:OnKernelBug" : "Health:OnKernelWarning";
        var policy = bug ? _options.OnKernelBug : _options.OnKernelWarning;
        var action = attribution.Attributed ? policy : HealthAction.None;
        string outcome;
        long? operationId = null;
        if (!attribution.Attributed)
        {
            outcome = "not attributed to a patch; nothing done";
        }
        else if (action == HealthAction.Revert && attribution.Basis == AttributionBasis.Taint)
        {
            // A taint bit alone does not say whose code complained: reverting on it could take out an innocent patch.
            action = HealthAction.Alert;
            outcome = $"alert only: {setting}=revert acts on log records, and a taint alone does not say which code complained; {attribution.Patch} stays loaded";
        }
        else if (action == HealthAction.Revert && state.Current.Snapshot.FindPatch(attribution.Patch!) is null)
        {
            outcome = $"{attribution.Patch} is no longer loaded; nothing to revert";
        }
        else if (action == HealthAction.Revert)
        {
            var by = $"livepatchd ({setting}=revert)";
            try
            {
                var handle = actions.StartQuarantine(new QuarantineEntry(attribution.Patch!, null, now, kind, attribution.Basis, attribution.Evidence, headline, by));
                operationId = handle.Id;
                outcome = $"reverting and quarantining {attribution.Patch} (operation {handle.Id})";
                // One act per patch: later reports in the same window find it quarantined and on its way out.
                _windows = [.. _windows.Where(w => w.Patch != attribution.Patch)];
            }
            catch (Core.Errors.AgentException e)
            {
                HealthLog.RevertFailed(logger, attribution.Patch!, e.Message);
                outcome = $"revert failed to start ({e.Reason.Code}): {e.Message}";
            }
        }
        else
        {
            outcome = action == HealthAction.Alert
                ? $"alert only ({setting}=alert): {attribution.Patch} stays loaded"
                : $"recorded only ({setting}=none): {attribution.Patch} stays loaded";
        }

        var report = new HealthReportView(Interlocked.Increment(ref _reportId), now, kind, headline, attribution, action, outcome)
        {
            Lines = lines.Length > 40 ? lines[..40] : lines,
            Sequence = sequence,
            OperationId = operationId,
            FromTaint = fromTaint,
        };
        _recent = _recent.Length >= KeepReports ? [.. _recent.Skip(_recent.Length - KeepReports + 1), report] : _recent.Add(report);
        if (attribution.Attributed)
        {
            HealthLog.Attributed(logger, report.Summary);
        }
        else
        {
            HealthLog.Unattributed(logger, report.Summary);
        }

        if (action != HealthAction.None || !attribution.Attributed)
        {
            hub.Publish([new AgentEvent { Time = now, Kind = AgentEventKind.KernelReport, Patch = attribution.Patch, Message = report.Summary }]);
        }

        Publish();
    }

    private void SetReader(HealthReaderState reader, string? problem)
    {
        lock (_lock)
        {
            if (_reader == reader && _readerProblem == problem)
            {
                return;
            }

            _reader = reader;
            _readerProblem = problem;
        }

        switch (reader)
        {
            case HealthReaderState.Failed:
                HealthLog.ReaderFailed(logger, problem!, RetryDelay);
                state.SetDegraded(DegradedSource.KernelLog, $"the kernel health guard cannot read the kernel log: {problem}");
                break;
            case HealthReaderState.Unavailable:
                HealthLog.ReaderUnavailable(logger, problem!);
                state.SetDegraded(DegradedSource.KernelLog, null);
                break;
            default:
                state.SetDegraded(DegradedSource.KernelLog, null);
                break;
        }

        Publish();
    }

    /// <summary>Publishes the guard's view into the StateStore. Called from the guard's loop and the reader thread.</summary>
    private void Publish()
    {
        lock (_lock)
        {
            state.SetHealth(new HealthView
            {
                Reader = _reader,
                ReaderProblem = _readerProblem,
                KmsgPath = host.Kmsg,
                OnKernelWarning = _options.OnKernelWarning,
                OnKernelBug = _options.OnKernelBug,
                Window = _options.Window,
                Windows = _windows,
                Recent = _recent,
                Quarantined = quarantine.Entries,
                RecordsMissed = _missed,
                ReportsSuppressed = _rateLimit?.SuppressedTotal ?? 0,
            });
        }
    }

    private static string Word(HealthAction action) => action.ToString().ToLowerInvariant();
}

using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Posture;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Store;
using LivePatchAgent.Linux;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Posture;

/// <summary>
/// Keeps the CVE posture in the <see cref="StateStore"/>: reads the OSV advisory files of Posture:AdvisoriesDir,
/// identifies the running kernel's package, and evaluates the advisories against the patches' claims. It re-reads
/// the files when the directory changes (inotify through <see cref="FileSystemWatcher"/>) and every
/// Posture:RescanInterval; it re-evaluates, without re-reading, when the live or installed patches change. One
/// loop does all of it, so evaluations never overlap, and a burst of changes is one evaluation.
/// </summary>
internal sealed class PostureService(
    IOptions<PostureOptions> options,
    IOptions<PathsOptions> paths,
    HostPaths host,
    StateStore state,
    PatchStore store,
    EventHub events,
    TimeProvider timeProvider,
    ILogger<PostureService> logger) : BackgroundService
{
    /// <summary>Changes within this window are read as one: config management writes several files at once.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(300);

    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly string _directory = options.Value.DirectoryUnder(paths.Value.StateDir);
    private volatile bool _feedsChanged = true;
    private string? _claimsKey;
    private FileSystemWatcher? _watcher;
    private (string Key, KernelPackage? Package, string? Reason)? _identified;
    private bool _reidentify;

    public string AdvisoriesDir => _directory;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        state.Changed += OnStateChanged;
        store.Changed += Wake;
        try
        {
            AdvisorySet advisories = AdvisorySet.Empty;
            var nextRescan = timeProvider.GetUtcNow();
            while (!stoppingToken.IsCancellationRequested)
            {
                var now = timeProvider.GetUtcNow();
                if (now >= nextRescan)
                {
                    _feedsChanged = true;
                    nextRescan = now + options.Value.RescanInterval;
                }

                if (_feedsChanged)
                {
                    _feedsChanged = false;
                    _reidentify = true;
                    EnsureWatcher();
                    advisories = await Task.Run(() => Load(stoppingToken), stoppingToken).ConfigureAwait(false);
                }

                Evaluate(advisories);
                var wait = nextRescan - timeProvider.GetUtcNow();
                await WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            state.Changed -= OnStateChanged;
            store.Changed -= Wake;
            _watcher?.Dispose();
        }
    }

    /// <summary>Waits for a change or the next rescan; after a change, lets the burst settle.</summary>
    private async Task WaitAsync(TimeSpan until, CancellationToken cancellationToken)
    {
        if (await _wake.WaitAsync(until, cancellationToken).ConfigureAwait(false))
        {
            await Task.Delay(Settle, timeProvider, cancellationToken).ConfigureAwait(false);
            if (_wake.CurrentCount > 0)
            {
                _wake.Wait(0, CancellationToken.None);
            }
        }
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A wake-up is already pending; one is enough.
        }
    }

    private void FeedsChanged()
    {
        _feedsChanged = true;
        Wake();
    }

    /// <summary>Patches changing state (load, unload, transition end, a load's verified metadata) change the claims; polls that change nothing do not wake.</summary>
    private void OnStateChanged(AgentView view)
    {
        // The verified metadata of a load is recorded just after the kernel accepted the module: part of the key too.
        var key = string.Join(';', view.Snapshot.Patches.Select(p => $"{p.Name}={p.Enabled}/{p.Transition}"))
            + "|" + string.Join(';', view.LoadedPatches.Values.Select(r => $"{r.Name}={r.Sha256}").Order(StringComparer.Ordinal));
        if (key != Volatile.Read(ref _claimsKey))
        {
            Volatile.Write(ref _claimsKey, key);
            Wake();
        }
    }

    private void EnsureWatcher()
    {
        if (_watcher is not null || !Directory.Exists(_directory))
        {
            return;
        }

        try
        {
            var watcher = new FileSystemWatcher(_directory)
            {
                IncludeSubdirectories = false,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.DirectoryName,
            };
            watcher.Created += (_, _) => FeedsChanged();
            watcher.Changed += (_, _) => FeedsChanged();
            watcher.Deleted += (_, _) => FeedsChanged();
            watcher.Renamed += (_, _) => FeedsChanged();
            watcher.Error += (_, e) =>
            {
                // Overflow or the directory went away: read everything again, and watch anew on the next read.
                PostureLog.WatcherFailed(logger, _directory, e.GetException().Message);
                _watcher?.Dispose();
                _watcher = null;
                FeedsChanged();
            };
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // inotify limits reached or the directory vanished: the periodic rescan still reads it.
            PostureLog.WatcherFailed(logger, _directory, e.Message);
        }
    }

    private AdvisorySet Load(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_directory))
        {
            return AdvisorySet.Empty;
        }

        var package = IdentifyPackage(out _);
        var loadOptions = new AdvisoryLoadOptions
        {
            MaxFileBytes = options.Value.MaxFileBytes,
            // Only the kernel package's records are kept: a whole distribution feed costs memory for those alone.
            KeepPackage = package is null ? null : KernelRecords(package),
        };
        var set = AdvisoryDirectory.Load(_directory, loadOptions, cancellationToken);
        foreach (var problem in set.Problems)
        {
            PostureLog.FeedSkipped(logger, problem.File, problem.Message);
        }

        PostureLog.FeedsRead(logger, _directory, set.Advisories.Length, set.Files.Length, set.Problems.Length);
        return set;
    }

    private static Func<OsvPackage, bool> KernelRecords(KernelPackage package)
    {
        var hostEcosystem = package.ParsedEcosystem;
        return p => string.Equals(p.Name, package.Name, StringComparison.Ordinal) && OsvEcosystem.Parse(p.Ecosystem).Covers(hostEcosystem);
    }

    private void Evaluate(AdvisorySet advisories)
    {
        if (!state.HasSnapshot)
        {
            return;
        }

        var view = state.Current;
        KernelPosture posture;
        if (!Directory.Exists(_directory))
        {
            posture = KernelPosture.Unknown($"no advisories: {_directory} does not exist (drop OSV files there, see docs/posture.md)");
        }
        else if (IdentifyPackage(out var reason) is not { } package)
        {
            posture = KernelPosture.Unknown($"unknown kernel package: {reason}");
        }
        else
        {
            posture = PostureEvaluator.Evaluate(advisories, package, VersionOrder.ForEcosystem, PatchClaims.From(view, store));
        }

        var next = new PostureView(posture, _directory, advisories.Advisories.Length, advisories.Files.Length,
            advisories.Problems, timeProvider.GetUtcNow());
        var previous = view.Posture;
        state.SetPosture(next);
        if (!next.SameAs(previous))
        {
            var line = PostureText.Summary(next);
            PostureLog.Changed(logger, line);
            events.Publish([new AgentEvent { Time = next.EvaluatedAt, Kind = AgentEventKind.PostureChanged, Message = line }]);
        }
    }

    /// <summary>
    /// The running kernel's package, worked out again only when the kernel's identity changes or the feeds are
    /// re-read (which also picks up an edited os-release); evaluations in between reuse it.
    /// </summary>
    private KernelPackage? IdentifyPackage(out string? reason)
    {
        var kernel = state.HasSnapshot ? state.Current.Snapshot.Kernel : null;
        var key = $"{kernel?.BootId}|{kernel?.Release}|{kernel?.Version}";
        if (_identified is { } known && known.Key == key && !_reidentify)
        {
            reason = known.Reason;
            return known.Package;
        }

        var package = ReadPackage(kernel, out reason);
        _identified = (key, package, reason);
        _reidentify = false;
        return package;
    }

    private KernelPackage? ReadPackage(Core.Kernel.KernelFacts? kernel, out string? reason)
    {
        var osRelease = ReadText(host.EtcOsRelease) ?? ReadText(host.UsrLibOsRelease);
        if (osRelease is null)
        {
            reason = $"neither {host.EtcOsRelease} nor {host.UsrLibOsRelease} can be read";
            return null;
        }

        if (kernel?.Release is not { } release || kernel.Version is not { } version)
        {
            reason = "the kernel release or version is unknown";
            return null;
        }

        if (KernelPackage.TryIdentify(release, version, osRelease, ReadText(host.VersionSignature), out var package, out var why))
        {
            reason = null;
            return package;
        }

        reason = why;
        return null;
    }

    private static string? ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public override void Dispose()
    {
        _watcher?.Dispose();
        _wake.Dispose();
        base.Dispose();
    }
}

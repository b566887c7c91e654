using System.Collections.Immutable;
using LivePatchAgent.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Linux;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// Installed patches: install and uninstall (the store), listing with what is loaded now, and apply: every
/// installed patch of the running kernel that is not loaded is re-verified in full (its hash against the
/// manifest, then every check of a load: signature, kernel release, vermagic, build-id) and loaded through the
/// one writer, <see cref="PatchOperations"/>. A patch that fails is reported, and the others still load.
/// </summary>
internal sealed class InstalledPatches(
    PatchStore patchStore,
    CrashLoopGuard guard,
    ModuleVerification verification,
    PatchOperations operations,
    StateStore state,
    EventHub hub,
    IOperationJournal journal,
    HostPaths paths,
    TimeProvider timeProvider,
    ILogger<InstalledPatches> logger) : IDisposable
{
    /// <summary>The kernel command line word that turns start-up apply off for one boot.</summary>
    public const string KillSwitch = "livepatchd.apply";

    private readonly SemaphoreSlim _applyGate = new(1, 1);
    private readonly Lock _statusLock = new();
    private StartupApplyStatus _status = StartupApplyStatus.Pending;
    private string? _degradedReason;

    /// <summary>Start-up apply as lpctl status shows it.</summary>
    public StartupApplyStatus Status
    {
        get
        {
            lock (_statusLock)
            {
                return _status;
            }
        }
    }

    public PatchStore Store => patchStore;

    public void Dispose() => _applyGate.Dispose();

    /// <summary>Verifies the upload against the target kernel and writes it to the store; loads it with LoadNow.</summary>
    public async Task<InstallOutcome> InstallAsync(InstallRequest request, Caller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(caller);
        var running = state.Current.Snapshot.Kernel.Release;
        var release = request.KernelRelease ?? running
            ?? throw new AgentException(ErrorReason.InvalidArgument, "the running kernel's release is unknown; name the kernel with --kernel RELEASE");
        if (PatchStore.ReleaseProblem(release) is { } releaseProblem)
        {
            throw new AgentException(ErrorReason.InvalidArgument, releaseProblem);
        }

        if (request.LoadNow && release != running)
        {
            throw new AgentException(ErrorReason.InvalidArgument,
                $"cannot load a patch for kernel {release} now: {running ?? "an unknown kernel"} is running; install it without --now, it is applied when {release} boots");
        }

        var upload = verification.Decompress(request.Module);
        var verified = verification.Verify(upload.Image, request.FileName, release) with { Compression = upload.Compression, UploadSize = upload.UploadSize };
        var name = verified.ModuleName ?? "unknown";
        var id = journal.Started("install", name, caller, verified.Sha256);
        if (!verified.Ok)
        {
            journal.Finished(id, "install", name, "refused", verified.Reason!.Code, verified.Message);
            throw new AgentException(verified.Reason, $"cannot install: {verified.Message}");
        }

        var manifest = Manifest(verified, release, upload.Image.LongLength, request, caller);
        bool replaced;
        try
        {
            replaced = patchStore.Install(manifest, upload.Image);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var message = $"cannot write {name} to the store {patchStore.ReleaseDir(release)}: {e.Message}";
            journal.Finished(id, "install", name, "failed", ErrorReason.Internal.Code, message);
            throw new AgentException(ErrorReason.Internal, message, e);
        }

        var installed = $"installed {name} for {release}" + (replaced ? " (replacing the earlier installation)" : string.Empty);
        journal.Finished(id, "install", name, "ok", null, installed);
        StoreLog.Installed(logger, name, release, manifest.Sha256, caller.Description);
        if (!request.LoadNow)
        {
            return new InstallOutcome(Describe(manifest, state.Current), verified, null, replaced, installed);
        }

        LoadOutcome load;
        try
        {
            load = await operations.LoadAsync(
                new LoadRequest(upload.Image, patchStore.ModulePath(release, name), Wait: true, request.Timeout)
                {
                    ExpectedSha256 = manifest.Sha256,
                    ExpectedName = name,
                },
                caller, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentException e)
        {
            throw new AgentException(e.Reason, $"{installed}, but loading it failed: {e.Message}", e);
        }

        return new InstallOutcome(Describe(manifest, state.Current), verified, load, replaced, $"{installed}; {load.Message}");
    }

    /// <summary>Removes an installed patch; lifts the crash-loop guard when it names that patch.</summary>
    public UninstallOutcome Uninstall(string requestedName, string? requestedRelease, Caller caller)
    {
        if (ModuleName.Validate(requestedName) is { } problem)
        {
            throw new AgentException(ErrorReason.InvalidArgument, $"invalid patch name: {problem}");
        }

        var name = ModuleName.Normalize(requestedName);
        var view = state.Current;
        var running = view.Snapshot.Kernel.Release;
        var release = requestedRelease ?? running
            ?? throw new AgentException(ErrorReason.InvalidArgument, "the running kernel's release is unknown; name the kernel with --kernel RELEASE");
        if (PatchStore.ReleaseProblem(release) is { } releaseProblem)
        {
            throw new AgentException(ErrorReason.InvalidArgument, releaseProblem);
        }

        var id = journal.Started("uninstall", name, caller);
        bool removed;
        try
        {
            removed = patchStore.Uninstall(release, name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var message = $"cannot remove {name} from the store {patchStore.ReleaseDir(release)}: {e.Message}";
            journal.Finished(id, "uninstall", name, "failed", ErrorReason.Internal.Code, message);
            throw new AgentException(ErrorReason.Internal, message, e);
        }

        if (!removed)
        {
            var message = $"{name} is not installed for kernel {release}";
            journal.Finished(id, "uninstall", name, "failed", ErrorReason.NotInstalled.Code, message);
            throw new AgentException(ErrorReason.NotInstalled, message);
        }

        var stillLoaded = release == running && view.Snapshot.FindPatch(name) is not null;
        var cleared = false;
        if (Status is { Phase: StartupApplyPhase.Interrupted, Interrupted: { } marker } && marker.Patch == name && marker.KernelRelease == release)
        {
            LiftGuard($"{caller} uninstalled {name}, the patch whose apply was interrupted");
            cleared = true;
        }

        var summary = $"uninstalled {name} for {release}"
            + (stillLoaded ? $"; it is still loaded: `lpctl unload {name}` removes it from the kernel" : string.Empty)
            + (cleared ? "; the crash-loop guard is lifted, start-up apply runs now" : string.Empty);
        journal.Finished(id, "uninstall", name, "ok", null, summary);
        StoreLog.Uninstalled(logger, name, release, caller.Description);
        return new UninstallOutcome(name, release, stillLoaded, cleared, summary);
    }

    /// <summary>The installed patches of one release (null: the running kernel's) or of all, with what is loaded now.</summary>
    public InstalledListing List(string? release, bool allKernels)
    {
        var view = state.Current;
        var running = view.Snapshot.Kernel.Release;
        IEnumerable<string> releases = allKernels
            ? patchStore.Releases()
            : [release ?? running ?? throw new AgentException(ErrorReason.InvalidArgument, "the running kernel's release is unknown; name the kernel with --kernel RELEASE")];
        var problems = new List<string>();
        var patches = new List<InstalledPatchView>();
        foreach (var r in releases)
        {
            if (PatchStore.ReleaseProblem(r) is { } problem)
            {
                throw new AgentException(ErrorReason.InvalidArgument, problem);
            }

            var installed = patchStore.List(r, problems);
            var order = ApplyPlan.For(installed, _ => false).Select(p => p.Patch);
            patches.AddRange(order.Select(m => Describe(m, view)));
        }

        return new InstalledListing([.. patches], running, [.. problems]);
    }

    /// <summary>
    /// Start-up apply as the daemon runs it at start and when the kernel changes: the kill switch and the crash-loop
    /// guard are honoured, and the outcome becomes the status.
    /// </summary>
    public async Task RunStartupApplyAsync(string trigger, bool atStartup, CancellationToken cancellationToken)
    {
        var kernel = state.Current.Snapshot.Kernel;
        var marker = guard.Read();
        if (CrashLoopGuard.Judge(marker, kernel.BootId) == GuardVerdict.InterruptedEarlierBoot)
        {
            Interrupted(marker!);
            return;
        }

        var killSwitch = KillSwitchReason(atStartup);
        if (killSwitch is not null)
        {
            SetStatus(new StartupApplyStatus(StartupApplyPhase.Disabled, killSwitch, null, kernel.Release, []));
            StoreLog.ApplyDisabled(logger, killSwitch);
            Publish(new AgentEvent
            {
                Time = timeProvider.GetUtcNow(),
                Kind = AgentEventKind.StartupApplySkipped,
                Message = $"start-up apply is off ({killSwitch}); installed patches were not loaded",
            });
            return;
        }

        if (!kernel.LivepatchSupported)
        {
            SetStatus(new StartupApplyStatus(StartupApplyPhase.Done, "the running kernel has no livepatch support", null, kernel.Release, []));
            return;
        }

        await ApplyAsync(trigger, resume: false, timeout: null, Caller.Daemon, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads every installed patch of the running kernel that is not loaded. Refused while the crash-loop guard
    /// holds, unless <paramref name="resume"/>.
    /// </summary>
    public async Task<ApplyRun> ApplyAsync(string trigger, bool resume, TimeSpan? timeout, Caller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        await _applyGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var kernel = state.Current.Snapshot.Kernel;
            var marker = guard.Read();
            var resumed = false;
            switch (CrashLoopGuard.Judge(marker, kernel.BootId))
            {
                case GuardVerdict.InterruptedEarlierBoot when !resume:
                    Interrupted(marker!);
                    throw new AgentException(ErrorReason.PreviousApplyInterrupted, InterruptedMessage(marker!) + "; run `lpctl apply --resume` to apply anyway");
                case GuardVerdict.InterruptedEarlierBoot:
                    ClearMarker();
                    LiftGuard($"{caller} resumed start-up apply", runApply: false);
                    resumed = true;
                    break;
                case GuardVerdict.StaleThisBoot:
                    StoreLog.StaleMarker(logger, marker!.Patch, marker.BootId);
                    ClearMarker();
                    break;
            }

            if (kernel.Release is not { } release)
            {
                throw new AgentException(ErrorReason.Internal, "the running kernel's release is unknown, so its installed patches cannot be found");
            }

            if (!kernel.LivepatchSupported)
            {
                throw new AgentException(ErrorReason.LivepatchUnsupported, "the running kernel has no livepatch support, so no installed patch can be applied");
            }

            SetStatus(new StartupApplyStatus(StartupApplyPhase.Running, null, null, release, []));
            var problems = new List<string>();
            var installed = patchStore.List(release, problems);
            foreach (var problem in problems)
            {
                StoreLog.StoreProblem(logger, problem);
            }

            var plan = ApplyPlan.For(installed, n => state.Current.Snapshot.FindPatch(n) is not null);
            StoreLog.ApplyStarted(logger, trigger, release, plan.Count(p => p.Decision == ApplyDecision.Load), installed.Count);
            var results = new List<ApplyResultItem>();
            foreach (var planned in plan)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var result = planned.Decision switch
                {
                    ApplyDecision.AlreadyLoaded => new ApplyResultItem(planned.Patch.Name, ApplyResultKind.AlreadyLoaded, null, $"{planned.Patch.Name} is already loaded"),
                    ApplyDecision.Superseded => new ApplyResultItem(planned.Patch.Name, ApplyResultKind.Superseded, null,
                        $"{planned.Patch.Name} is superseded by the newer cumulative patch {planned.SupersededBy}; not loaded"),
                    _ => await ApplyOneAsync(planned.Patch, kernel.BootId, timeout, caller, cancellationToken).ConfigureAwait(false),
                };
                results.Add(result);
                Report(result);
            }

            SetStatus(new StartupApplyStatus(StartupApplyPhase.Done, null, null, release, [.. results]));
            var applied = results.Count(r => r.Outcome == ApplyResultKind.Applied);
            var failed = results.Count(r => r.Outcome == ApplyResultKind.Failed);
            var message = $"applied {applied} of {installed.Count} installed patch(es) for {release}"
                + (failed > 0 ? $"; {failed} failed" : string.Empty)
                + (resumed ? " (resumed after an interrupted apply)" : string.Empty);
            StoreLog.ApplyFinished(logger, message);
            return new ApplyRun([.. results], resumed, message);
        }
        finally
        {
            _applyGate.Release();
        }
    }

    /// <summary>Why start-up apply is off, or null when it is on: the kernel command line first, then the setting.</summary>
    public string? KillSwitchReason(bool atStartup)
    {
        string? commandLine;
        try
        {
            commandLine = File.ReadAllText(paths.KernelCommandLine);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            commandLine = null;
        }

        return KillSwitchReason(commandLine, atStartup);
    }

    /// <summary>
    /// The kill switch: <c>livepatchd.apply=0</c> (or n, no, off, false) on <paramref name="commandLine"/>, then
    /// <paramref name="atStartup"/> (Apply:AtStartup). Null when start-up apply is on.
    /// </summary>
    public static string? KillSwitchReason(string? commandLine, bool atStartup)
    {
        foreach (var word in (commandLine ?? string.Empty).Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (word.StartsWith(KillSwitch + "=", StringComparison.Ordinal)
                && word[(KillSwitch.Length + 1)..].ToLowerInvariant() is "0" or "n" or "no" or "off" or "false")
            {
                return $"{word} is on the kernel command line";
            }
        }

        return atStartup ? null : "Apply:AtStartup is false";
    }

    private async Task<ApplyResultItem> ApplyOneAsync(InstalledPatchManifest patch, string? bootId, TimeSpan? timeout, Caller caller, CancellationToken cancellationToken)
    {
        var path = patchStore.ModulePath(patch.KernelRelease, patch.Name);
        byte[] bytes;
        try
        {
            bytes = patchStore.ReadModule(patch.KernelRelease, patch.Name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ApplyResultItem(patch.Name, ApplyResultKind.Failed, ErrorReason.Internal.Code, $"cannot read {path}: {e.Message}");
        }

        var request = new LoadRequest(bytes, path, Wait: true, timeout)
        {
            // The daemon's own applies (at start-up, after a kernel change) are told apart from `lpctl apply` in the journal.
            Operation = ReferenceEquals(caller, Caller.Daemon) ? "startup-apply" : "apply",
            ExpectedSha256 = patch.Sha256,
            ExpectedName = patch.Name,
            // Written after every check passed and right before the kernel gets the module.
            BeforeLoad = (name, sha256) => guard.Write(new ApplyMarker(bootId ?? "unknown", name, sha256, patch.KernelRelease, timeProvider.GetUtcNow())),
        };
        try
        {
            var outcome = await operations.LoadAsync(request, caller, cancellationToken).ConfigureAwait(false);
            if (!outcome.TransitionCompleted)
            {
                // The marker stays until the transition is over: a machine lost now was lost applying this patch.
                await WaitForTransitionEndAsync(patch.Name, cancellationToken).ConfigureAwait(false);
            }

            ClearMarker();
            var enabled = state.Current.Snapshot.FindPatch(patch.Name) is { Enabled: true };
            return enabled
                ? new ApplyResultItem(patch.Name, ApplyResultKind.Applied, null,
                    $"{outcome.Message}; re-verified: sha256 {patch.Sha256[..12]}… matches the manifest, every load check passed")
                : new ApplyResultItem(patch.Name, ApplyResultKind.Failed, ErrorReason.TransitionTimeout.Code,
                    $"{patch.Name} was loaded, but its transition was reversed: it is not enabled");
        }
        catch (AgentException e)
        {
            // Refused before the kernel saw it, or the kernel refused it: nothing crashed, so no marker is kept.
            ClearMarker();
            return new ApplyResultItem(patch.Name, ApplyResultKind.Failed, e.Reason.Code, e.Message);
        }
    }

    private async Task WaitForTransitionEndAsync(string name, CancellationToken cancellationToken)
    {
        while (state.Current.Snapshot.FindPatch(name) is { Transition: true })
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Report(ApplyResultItem result)
    {
        switch (result.Outcome)
        {
            case ApplyResultKind.Applied:
                Publish(new AgentEvent { Time = timeProvider.GetUtcNow(), Kind = AgentEventKind.InstalledPatchApplied, Patch = result.Name, Message = result.Message });
                break;
            case ApplyResultKind.Failed:
                StoreLog.ApplyFailed(logger, result.Name, result.Reason ?? "-", result.Message);
                Publish(new AgentEvent { Time = timeProvider.GetUtcNow(), Kind = AgentEventKind.InstalledPatchFailed, Patch = result.Name, Message = result.Message, Reason = result.Reason });
                break;
            default:
                StoreLog.ApplySkipped(logger, result.Name, result.Message);
                break;
        }
    }

    private void Interrupted(ApplyMarker marker)
    {
        var message = InterruptedMessage(marker);
        bool first;
        lock (_statusLock)
        {
            first = _status.Phase != StartupApplyPhase.Interrupted;
            _status = new StartupApplyStatus(StartupApplyPhase.Interrupted, message, marker, state.Current.Snapshot.Kernel.Release, []);
            if (_degradedReason is not null && _degradedReason != message)
            {
                state.SetDegraded(_degradedReason, false);
            }

            _degradedReason = message;
        }

        // The degraded reason carries it to lpctl status problems and to the D-Bus LastError property.
        state.SetDegraded(message, true);
        if (first)
        {
            StoreLog.ApplyInterrupted(logger, message);
            Publish(new AgentEvent
            {
                Time = timeProvider.GetUtcNow(),
                Kind = AgentEventKind.StartupApplySkipped,
                Patch = marker.Patch,
                Message = message,
                Reason = ErrorReason.PreviousApplyInterrupted.Code,
            });
        }
    }

    /// <summary>Clears the interrupted state and the marker; then (unless told otherwise) start-up apply runs.</summary>
    private void LiftGuard(string why, bool runApply = true)
    {
        ClearMarker();
        string? degraded;
        lock (_statusLock)
        {
            degraded = _degradedReason;
            _degradedReason = null;
            _status = StartupApplyStatus.Pending;
        }

        if (degraded is not null)
        {
            state.SetDegraded(degraded, false);
        }

        StoreLog.GuardLifted(logger, why);
        if (runApply)
        {
            GuardLifted?.Invoke();
        }
    }

    /// <summary>Raised when an uninstall lifts the crash-loop guard; the start-up service then runs start-up apply.</summary>
    public event Action? GuardLifted;

    private void ClearMarker()
    {
        try
        {
            guard.Clear();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A marker that cannot be removed would stop the next boot's apply; say so loudly, it is recoverable.
            StoreLog.MarkerNotCleared(logger, guard.Path, e.Message);
        }
    }

    private static string InterruptedMessage(ApplyMarker marker) => marker.Damage is { } damage
        ? $"previous-apply-interrupted: the crash-loop marker is damaged ({damage}); start-up apply is skipped until `lpctl apply --resume`"
        : $"previous-apply-interrupted: the machine went down while {marker.Patch} was being applied (boot {marker.BootId}, {marker.StartedAt:u}); start-up apply is skipped until `lpctl apply --resume` or `lpctl uninstall {marker.Patch}`";

    private void SetStatus(StartupApplyStatus status)
    {
        lock (_statusLock)
        {
            _status = status;
        }
    }

    private void Publish(AgentEvent e)
    {
        foreach (var published in hub.Publish([e]))
        {
            Log.KernelEvent(logger, published.Message);
        }
    }

    private InstalledPatchManifest Manifest(VerificationOutcome verified, string release, long size, InstallRequest request, Caller caller)
    {
        var report = verified.Report;
        var info = report.Module?.ModInfo;
        return new InstalledPatchManifest
        {
            Name = verified.ModuleName!,
            KernelRelease = release,
            Sha256 = report.Sha256,
            Size = size,
            Signer = report.Signer?.Name,
            SignerKeyId = report.Signer?.KeyId,
            DigestAlgorithm = report.Signer?.DigestAlgorithm,
            Vermagic = info?.Vermagic,
            Srcversion = info?.SrcVersion,
            Modinfo = info is null ? [] : [.. info.Entries.Select(e => new ModinfoEntry(e.Key, e.Value))],
            Replace = request.Metadata.Replace,
            InstalledAt = timeProvider.GetUtcNow(),
            InstalledByUid = caller.Uid,
            InstalledBy = caller.Description,
            Description = string.IsNullOrWhiteSpace(request.Metadata.Description) ? null : request.Metadata.Description,
            CveIds = [.. request.Metadata.CveIds],
            CumulativeVersion = request.Metadata.CumulativeVersion,
            Compression = verified.Compression == ModuleCompression.None ? null : CompressedModule.Name(verified.Compression),
            SourceFileName = request.FileName,
        };
    }

    private InstalledPatchView Describe(InstalledPatchManifest manifest, AgentView view)
    {
        var running = view.Snapshot.Kernel.Release == manifest.KernelRelease;
        var patch = running ? view.Snapshot.FindPatch(manifest.Name) : null;
        var (replace, source) = manifest.Replace is { } r ? (r, "install") : patch?.Replace is { } s ? (s, "sysfs") : ((bool?)null, (string?)null);
        return new InstalledPatchView(manifest, patchStore.ModulePath(manifest.KernelRelease, manifest.Name), patch is null ? null : view.StateOf(patch), replace, source);
    }
}

/// <summary>An install: the upload and what the installer says about it.</summary>
internal sealed record InstallRequest(byte[] Module, string? FileName, string? KernelRelease, bool LoadNow, TimeSpan? Timeout)
{
    public InstallMetadataInput Metadata { get; init; } = new();
}

/// <summary>Operator metadata for an install.</summary>
internal sealed record InstallMetadataInput
{
    public string? Description { get; init; }

    public IReadOnlyList<string> CveIds { get; init; } = [];

    public ulong? CumulativeVersion { get; init; }

    public bool? Replace { get; init; }
}

internal sealed record InstallOutcome(InstalledPatchView Installed, VerificationOutcome Verification, LoadOutcome? Load, bool ReplacedPrevious, string Message);

internal sealed record UninstallOutcome(string Name, string KernelRelease, bool StillLoaded, bool ClearedInterruptedApply, string Message);

/// <summary>An installed patch with what the kernel says about it now.</summary>
/// <param name="Manifest">What was recorded at install time.</param>
/// <param name="Path">The store's .ko file.</param>
/// <param name="State">Its state when it is registered in the running kernel; null when not loaded.</param>
/// <param name="Replace">The replace flag: from the installer, else from sysfs while loaded; null when unknown.</param>
/// <param name="ReplaceSource">"install" or "sysfs"; null when unknown.</param>
internal sealed record InstalledPatchView(InstalledPatchManifest Manifest, string Path, PatchState? State, bool? Replace, string? ReplaceSource)
{
    public bool Loaded => State is not null;
}

internal sealed record InstalledListing(ImmutableArray<InstalledPatchView> Patches, string? RunningRelease, ImmutableArray<string> Problems);

/// <summary>What one apply did with each installed patch.</summary>
internal sealed record ApplyRun(ImmutableArray<ApplyResultItem> Results, bool Resumed, string Message);

internal sealed record ApplyResultItem(string Name, ApplyResultKind Outcome, string? Reason, string Message);

internal enum ApplyResultKind
{
    Applied,
    AlreadyLoaded,
    Superseded,
    Failed,
}

/// <summary>Start-up apply's state for lpctl status.</summary>
internal sealed record StartupApplyStatus(StartupApplyPhase Phase, string? Reason, ApplyMarker? Interrupted, string? KernelRelease, ImmutableArray<ApplyResultItem> Results)
{
    public static StartupApplyStatus Pending { get; } = new(StartupApplyPhase.Pending, null, null, null, []);
}

internal enum StartupApplyPhase
{
    Pending,
    Running,
    Done,
    Disabled,
    Interrupted,
}

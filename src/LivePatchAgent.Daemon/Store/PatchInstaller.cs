using System.Collections.Immutable;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Operations;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// Installing and uninstalling patches in the store, and listing what is installed with what is loaded now. An
/// install verifies the upload against its target kernel, writes it durably, and with <c>--now</c> loads it as a
/// child load operation; an uninstall lifts the crash-loop guard when it names the patch the guard holds back.
/// </summary>
internal sealed class PatchInstaller(
    InstalledPatches patches,
    StartupApplyState startup,
    ModuleVerification verification,
    OperationRunner runner,
    PatchLoader loader,
    StateStore state,
    TimeProvider timeProvider,
    ILogger<PatchInstaller> logger)
{
    public PatchStore Store => patches.Local;

    /// <summary>Starts an install; returns at once.</summary>
    public OperationHandle StartInstall(InstallRequest request, Caller caller)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(caller);
        verification.CheckUploadSize(request.Module.Length);
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

        return runner.Start(
            new OperationRequest(OperationKind.Install, null, caller, request.Timeout)
            {
                FirstPhase = OperationPhase.Verifying,
                FirstMessage = $"verifying {request.FileName ?? "the module"} for {release}",
            },
            context => InstallAsync(request, release, context));
    }

    private async Task<OperationEnd> InstallAsync(InstallRequest request, string release, OperationContext context)
    {
        var upload = verification.Decompress(request.Module);
        var verified = verification.Verify(upload.Image, request.FileName, release) with { Compression = upload.Compression, UploadSize = upload.UploadSize };
        var name = verified.ModuleName ?? "unknown";
        context.Handle.Update(s => s with { Patch = name });
        if (!verified.Ok)
        {
            return OperationContext.End(OperationResultKind.Refused, $"cannot install: {verified.Message}",
                new InstallDetail(null, verified, null, false), verified.Reason);
        }

        var manifest = Manifest(verified, release, upload.Image.LongLength, request, context.Caller);
        context.Checked(name, manifest.Sha256);
        context.Phase(OperationPhase.Acting, $"writing {name} to the store for {release}");
        context.Acting();
        bool replaced;
        try
        {
            replaced = patches.Local.Install(manifest, upload.Image);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentException(ErrorReason.Internal, $"cannot write {name} to the store {patches.Local.ReleaseDir(release)}: {e.Message}", e);
        }

        var installed = $"installed {name} for {release}" + (replaced ? " (replacing the earlier installation)" : string.Empty);
        StoreLog.Installed(logger, name, release, manifest.Sha256, context.Caller.Description);
        if (!request.LoadNow)
        {
            return OperationContext.End(OperationResultKind.Completed, installed, new InstallDetail(Describe(manifest, state.Current), verified, null, replaced));
        }

        var child = loader.Start(
            new LoadRequest(upload.Image, patches.Local.ModulePath(release, name), Wait: true, context.Timeout)
            {
                ExpectedSha256 = manifest.Sha256,
                ExpectedName = name,
                OperatorMetadata = manifest.OperatorMetadata,
            },
            context.Caller);
        var load = await ChildOperation.FollowAsync(context, child, $"{installed}; ").ConfigureAwait(false);
        var result = load.Result!;
        var detail = new InstallDetail(Describe(manifest, state.Current), verified, load, replaced);
        // The install itself took effect; the load's result is the operation's, so `--now` reports what the kernel did.
        return new OperationEnd(result with { Message = $"{installed}; {result.Message}" }, detail);
    }

    /// <summary>Starts an uninstall; returns at once.</summary>
    public OperationHandle StartUninstall(string requestedName, string? requestedRelease, Caller caller)
    {
        var name = PatchNames.Valid(requestedName);
        var running = state.Current.Snapshot.Kernel.Release;
        var release = requestedRelease ?? running
            ?? throw new AgentException(ErrorReason.InvalidArgument, "the running kernel's release is unknown; name the kernel with --kernel RELEASE");
        if (PatchStore.ReleaseProblem(release) is { } releaseProblem)
        {
            throw new AgentException(ErrorReason.InvalidArgument, releaseProblem);
        }

        return runner.Start(new OperationRequest(OperationKind.Uninstall, name, caller, null) { FirstMessage = $"removing {name} from the store for {release}" },
            context => Task.FromResult(Uninstall(name, release, running, context)));
    }

    private OperationEnd Uninstall(string name, string release, string? running, OperationContext context)
    {
        if (patches.VendorRefusal(release, name) is { } refusal)
        {
            return OperationContext.End(OperationResultKind.Refused, refusal, reason: ErrorReason.VendorPatch);
        }

        context.Acting();
        bool removed;
        try
        {
            removed = patches.Local.Uninstall(release, name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentException(ErrorReason.Internal, $"cannot remove {name} from the store {patches.Local.ReleaseDir(release)}: {e.Message}", e);
        }

        if (!removed)
        {
            return OperationContext.End(OperationResultKind.Refused, $"{name} is not installed for kernel {release}", reason: ErrorReason.NotInstalled);
        }

        var stillLoaded = release == running && state.Current.Snapshot.FindPatch(name) is not null;
        var cleared = false;
        if (startup.Status is { Phase: StartupApplyPhase.Interrupted, Interrupted: { } marker } && marker.Patch == name && marker.KernelRelease == release)
        {
            startup.LiftGuard($"{context.Caller} uninstalled {name}, the patch whose apply was interrupted");
            cleared = true;
        }

        var uncovered = patches.Vendor.List(release, []).FirstOrDefault(p => p.Name == name)?.Vendor;
        var summary = $"uninstalled {name} for {release}"
            + (uncovered is null ? string.Empty : $"; the vendor copy installed {uncovered.By} is installed now")
            + (stillLoaded ? $"; it is still loaded: `lpctl unload {name}` removes it from the kernel" : string.Empty)
            + (cleared ? "; the crash-loop guard is lifted, start-up apply runs now" : string.Empty);
        StoreLog.Uninstalled(logger, name, release, context.Caller.Description);
        return OperationContext.End(OperationResultKind.Completed, summary, new UninstallDetail(name, release, stillLoaded, cleared));
    }

    /// <summary>The installed patches of one release (null: the running kernel's) or of all, with what is loaded now.</summary>
    public InstalledListing List(string? release, bool allKernels)
    {
        var view = state.Current;
        var running = view.Snapshot.Kernel.Release;
        var problems = new List<string>();
        IEnumerable<string> releases = allKernels
            ? patches.Releases(problems)
            : [release ?? running ?? throw new AgentException(ErrorReason.InvalidArgument, "the running kernel's release is unknown; name the kernel with --kernel RELEASE")];
        var views = new List<InstalledPatchView>();
        foreach (var r in releases)
        {
            if (PatchStore.ReleaseProblem(r) is { } problem)
            {
                throw new AgentException(ErrorReason.InvalidArgument, problem);
            }

            var installed = patches.List(r, problems);
            var order = ApplyPlan.For(installed, _ => false).Select(p => p.Patch);
            views.AddRange(order.Select(m => Describe(m, view)));
        }

        return new InstalledListing([.. views], running, [.. problems.Distinct(StringComparer.Ordinal)]);
    }

    public InstalledPatchView Describe(InstalledPatchManifest manifest, AgentView view)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(view);
        var running = view.Snapshot.Kernel.Release == manifest.KernelRelease;
        var patch = running ? view.Snapshot.FindPatch(manifest.Name) : null;
        var (replace, source) = manifest.Replace is { } r ? (r, manifest.Vendor is null ? "install" : "level")
            : patch?.Replace is { } s ? (s, "sysfs") : ((bool?)null, (string?)null);
        var path = manifest.Vendor?.ModulePath ?? patches.Local.ModulePath(manifest.KernelRelease, manifest.Name);
        return new InstalledPatchView(manifest, path, patch is null ? null : view.StateOf(patch), replace, source);
    }

    private InstalledPatchManifest Manifest(VerificationOutcome verified, string release, long size, InstallRequest request, Caller caller)
    {
        return InstalledPatchManifest.FromReport(verified.ModuleName!, release, verified.Report, size, timeProvider.GetUtcNow()) with
        {
            Replace = request.Metadata.Replace,
            InstalledByUid = caller.Uid,
            InstalledBy = caller.Description,
            Description = string.IsNullOrWhiteSpace(request.Metadata.Description) ? null : request.Metadata.Description,
            CveIds = [.. request.Metadata.CveIds],
            CumulativeVersion = request.Metadata.CumulativeVersion,
            Compression = verified.Compression == ModuleCompression.None ? null : CompressedModule.Name(verified.Compression),
            SourceFileName = request.FileName,
        };
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

/// <summary>What an install did: the installed patch (null when refused), its verification, and the load of --now.</summary>
internal sealed record InstallDetail(InstalledPatchView? Installed, VerificationOutcome Verification, OperationState? Load, bool ReplacedPrevious) : OperationDetail;

/// <summary>What an uninstall did.</summary>
internal sealed record UninstallDetail(string Name, string KernelRelease, bool StillLoaded, bool ClearedInterruptedApply) : OperationDetail;

/// <summary>An installed patch with what the kernel says about it now.</summary>
/// <param name="Manifest">What was recorded at install time.</param>
/// <param name="Path">The store's .ko file.</param>
/// <param name="State">Its state when it is registered in the running kernel; null when not loaded.</param>
/// <param name="Replace">The replace flag: from the installer, else from sysfs while loaded; null when unknown.</param>
/// <param name="ReplaceSource">"install", "level" (a vendor patch that declares a livepatch_level) or "sysfs"; null when unknown.</param>
internal sealed record InstalledPatchView(InstalledPatchManifest Manifest, string Path, PatchState? State, bool? Replace, string? ReplaceSource)
{
    public bool Loaded => State is not null;
}

internal sealed record InstalledListing(ImmutableArray<InstalledPatchView> Patches, string? RunningRelease, ImmutableArray<string> Problems);

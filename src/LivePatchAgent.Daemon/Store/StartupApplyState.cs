using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Linux;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// Start-up apply's state between runs: its status (kept in the <see cref="StateStore"/>, the one copy every reader
/// sees), the kill switch, and the crash-loop guard (the marker written right before each installed patch reaches the
/// kernel, which a boot that went down leaves behind).
/// </summary>
internal sealed class StartupApplyState(
    CrashLoopGuard guard,
    StateStore state,
    EventHub hub,
    HostPaths paths,
    TimeProvider timeProvider,
    ILogger<StartupApplyState> logger)
{
    /// <summary>The kernel command line word that turns start-up apply off for one boot.</summary>
    public const string KillSwitch = "livepatchd.apply=";

    /// <summary>Raised when the guard is lifted by an uninstall; the start-up service then runs start-up apply.</summary>
    public event Action? GuardLifted;

    public StartupApplyStatus Status => state.Current.StartupApply;

    public void SetStatus(StartupApplyStatus status) => state.SetStartupApply(status);

    /// <summary>The guard's verdict for this boot, and the marker behind it.</summary>
    public (GuardVerdict Verdict, ApplyMarker? Marker) Judge()
    {
        var marker = guard.Read();
        return (CrashLoopGuard.Judge(marker, state.Current.Snapshot.Kernel.BootId), marker);
    }

    /// <summary>Writes the marker right before <paramref name="patch"/> reaches the kernel.</summary>
    public void Marking(string patch, string sha256, string release) =>
        guard.Write(new ApplyMarker(state.Current.Snapshot.Kernel.BootId ?? "unknown", patch, sha256, release, timeProvider.GetUtcNow()));

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
            if (word.StartsWith(KillSwitch, StringComparison.Ordinal)
                && word[KillSwitch.Length..].ToLowerInvariant() is "0" or "n" or "no" or "off" or "false")
            {
                return $"{word} is on the kernel command line";
            }
        }

        return atStartup ? null : "Apply:AtStartup is false";
    }

    /// <summary>The guard holds: status interrupted, the state degraded (so D-Bus's State and LastError show it), and an event once.</summary>
    public void Interrupted(ApplyMarker marker)
    {
        ArgumentNullException.ThrowIfNull(marker);
        var message = InterruptedMessage(marker);
        var first = Status.Phase != StartupApplyPhase.Interrupted;
        SetStatus(new StartupApplyStatus(StartupApplyPhase.Interrupted, message,
            new InterruptedApply(marker.Patch, marker.BootId, marker.StartedAt, marker.KernelRelease, marker.Damage), state.Current.Snapshot.Kernel.Release, []));
        state.SetDegraded(DegradedSource.CrashLoopGuard, message);
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
    public void LiftGuard(string why, bool runApply = true)
    {
        ClearMarker();
        state.SetDegraded(DegradedSource.CrashLoopGuard, null);
        SetStatus(StartupApplyStatus.Pending);
        StoreLog.GuardLifted(logger, why);
        if (runApply)
        {
            GuardLifted?.Invoke();
        }
    }

    public void ClearMarker()
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

    public static string InterruptedMessage(ApplyMarker marker)
    {
        ArgumentNullException.ThrowIfNull(marker);
        return marker.Damage is { } damage
            ? $"previous-apply-interrupted: the crash-loop marker is damaged ({damage}); start-up apply is skipped until `lpctl apply --resume`"
            : $"previous-apply-interrupted: the machine went down while {marker.Patch} was being applied (boot {marker.BootId}, {marker.StartedAt:u}); start-up apply is skipped until `lpctl apply --resume` or `lpctl uninstall {marker.Patch}`";
    }

    public void Publish(AgentEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        foreach (var published in hub.Publish([e]))
        {
            Log.KernelEvent(logger, published.Message);
        }
    }
}

using System.Collections.Immutable;

namespace LivePatchAgent.Daemon.Transitions;

/// <summary>What someone did to a running transition.</summary>
internal enum InterventionKind
{
    /// <summary>Wrote the opposite value to <c>enabled</c> (lpctl revert, or Transitions:OnStall=revert).</summary>
    Revert,

    /// <summary>Wrote <c>force</c> (lpctl force, or Transitions:OnStall=force).</summary>
    Force,

    /// <summary>Disabled the patch while its enabling transition ran (lpctl unload), which reverses it.</summary>
    Disable,

    /// <summary>Kicked the blocked tasks (SIGSTOP+SIGCONT, or the <c>signal</c> attribute).</summary>
    Kick,
}

/// <summary>One act on the transition of <paramref name="Patch"/> in the direction <paramref name="Patching"/>.</summary>
/// <param name="Patch">The transitioning patch.</param>
/// <param name="Patching">The direction of the transition acted on.</param>
/// <param name="Kind">What was done.</param>
/// <param name="By">Who did it, as the journal names callers.</param>
/// <param name="At">When.</param>
internal sealed record TransitionIntervention(string Patch, bool Patching, InterventionKind Kind, string By, DateTimeOffset At)
{
    /// <summary>For a force: the tasks the last scan found blocking; they may keep running the old code.</summary>
    public ImmutableArray<string> OldCodeTasks { get; init; } = [];

    /// <summary>For a force: the modules it pinned.</summary>
    public ImmutableArray<string> Pinned { get; init; } = [];
}

/// <summary>
/// Remembers who acted on which transition, so that the end of a transition is reported as what it was: an
/// operator's revert, unload or force, the stall policy's own action, or the transition finishing by itself. The
/// write path records each act right before it writes to sysfs; the supervisor and the waiting operation read it when
/// the transition ends. Entries are kept for an hour.
/// </summary>
internal sealed class TransitionInterventions(TimeProvider timeProvider)
{
    private static readonly TimeSpan Keep = TimeSpan.FromHours(1);
    private readonly Lock _lock = new();
    private readonly List<TransitionIntervention> _entries = [];

    public void Record(TransitionIntervention intervention)
    {
        ArgumentNullException.ThrowIfNull(intervention);
        var cutoff = timeProvider.GetUtcNow() - Keep;
        lock (_lock)
        {
            _entries.RemoveAll(e => e.At < cutoff);
            _entries.Add(intervention);
        }
    }

    /// <summary>The acts on the transition of <paramref name="patch"/> in direction <paramref name="patching"/> since <paramref name="since"/>, oldest first.</summary>
    public ImmutableArray<TransitionIntervention> Since(string patch, bool patching, DateTimeOffset since)
    {
        lock (_lock)
        {
            return [.. _entries.Where(e => e.Patch == patch && e.Patching == patching && e.At >= since)];
        }
    }

    /// <summary>The act that ended the transition: the last revert, force or disable since <paramref name="since"/>; null when none.</summary>
    public TransitionIntervention? Ending(string patch, bool patching, DateTimeOffset since) =>
        Since(patch, patching, since).LastOrDefault(e => e.Kind != InterventionKind.Kick);
}

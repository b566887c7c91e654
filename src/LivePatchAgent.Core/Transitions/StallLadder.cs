using LivePatchAgent.Core.State;

namespace LivePatchAgent.Core.Transitions;

/// <summary>What to do about a stalled transition once <see cref="TransitionPolicy.ResolveAfter"/> has passed.</summary>
public enum OnStall
{
    /// <summary>Write the opposite value to <c>enabled</c>; a reversed enable is then unloaded.</summary>
    Revert,

    /// <summary>Write <c>force</c>: complete the transition regardless (pins modules until reboot).</summary>
    Force,

    /// <summary>Report only.</summary>
    None,
}

/// <summary>The resolution ladder's thresholds, all measured from when the daemon first saw the transition.</summary>
public sealed record TransitionPolicy(TimeSpan StallAfter, TimeSpan? KickAfter, TimeSpan ResolveAfter, OnStall OnStall);

/// <summary>One rung of the ladder.</summary>
public enum StallStep
{
    /// <summary>The transition passed StallAfter: diagnose it and report it stalled.</summary>
    Stalled,

    /// <summary>Kick the blocked user tasks (SIGSTOP+SIGCONT).</summary>
    Kick,

    /// <summary>Apply <see cref="OnStall"/>.</summary>
    Resolve,

    /// <summary>
    /// A stalled transition ended before the ladder resolved it: by itself, or by someone else's act (an operator's
    /// revert, unload or force). <see cref="StallLadder.Ended"/> names it; the caller finds out which it was.
    /// </summary>
    Ended,
}

/// <summary>
/// Walks one transition at a time up the ladder: wait, (kick), resolve. Pure and driven by the caller's clock,
/// so every rung is tested with a fake time; each step is returned exactly once per transition.
/// </summary>
public sealed class StallLadder(TransitionPolicy policy)
{
    private TransitionView? _transition;
    private bool _stalled;
    private bool _kicked;
    private bool _resolved;

    public TransitionPolicy Policy { get; } = policy;

    /// <summary>The stalled transition the last <see cref="StallStep.Ended"/> step was about.</summary>
    public TransitionView? Ended { get; private set; }

    /// <summary>The steps due now for <paramref name="transition"/> (null: none running), in order.</summary>
    public IReadOnlyList<StallStep> Advance(TransitionView? transition, DateTimeOffset now)
    {
        var steps = new List<StallStep>();
        if (!SameTransition(_transition, transition))
        {
            if (_stalled && !_resolved)
            {
                Ended = _transition;
                steps.Add(StallStep.Ended);
            }

            _transition = transition;
            _stalled = _kicked = _resolved = false;
        }

        if (transition is null)
        {
            return steps;
        }

        var elapsed = transition.ElapsedAt(now);
        if (!_stalled && elapsed >= Policy.StallAfter)
        {
            _stalled = true;
            steps.Add(StallStep.Stalled);
        }

        if (_stalled && !_kicked && Policy.KickAfter is { } kickAfter && elapsed >= kickAfter && !_resolved)
        {
            _kicked = true;
            steps.Add(StallStep.Kick);
        }

        if (_stalled && !_resolved && elapsed >= Policy.ResolveAfter)
        {
            _resolved = true;
            steps.Add(StallStep.Resolve);
        }

        return steps;
    }

    private static bool SameTransition(TransitionView? a, TransitionView? b) =>
        a is null ? b is null : b is not null && a.Patch == b.Patch && a.Patching == b.Patching && a.StartedAt == b.StartedAt;
}

using System.Collections.Immutable;
using LivePatchAgent.Core.Posture;

namespace LivePatchAgent.Core.State;

/// <summary>
/// The CVE posture as the daemon last evaluated it, with what it read to get there: one copy in the
/// <see cref="StateStore"/>, so gRPC, D-Bus, lpctl check and the events all show the same posture.
/// </summary>
/// <param name="Posture">The evaluation (<see cref="PostureEvaluator"/>), or an unknown posture with its reason.</param>
/// <param name="AdvisoriesDir">The directory the advisories were read from.</param>
/// <param name="AdvisoryCount">Advisories read (after de-duplication).</param>
/// <param name="FeedFileCount">Files read.</param>
/// <param name="Problems">Feed files skipped, and why, each naming its file.</param>
/// <param name="EvaluatedAt">When it was evaluated.</param>
public sealed record PostureView(
    KernelPosture Posture,
    string AdvisoriesDir,
    int AdvisoryCount,
    int FeedFileCount,
    ImmutableArray<AdvisoryProblem> Problems,
    DateTimeOffset EvaluatedAt)
{
    /// <summary>Equal when what an operator would see is equal: the time of the evaluation does not count.</summary>
    public bool SameAs(PostureView? other) =>
        other is not null
        && Posture == other.Posture
        && AdvisoriesDir == other.AdvisoriesDir
        && AdvisoryCount == other.AdvisoryCount
        && FeedFileCount == other.FeedFileCount
        && Problems.SequenceEqual(other.Problems);
}

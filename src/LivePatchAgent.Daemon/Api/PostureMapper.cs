using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Core.Posture;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using V1 = LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Daemon.Api;

/// <summary>The posture in the gRPC contract: GetPosture with every advisory, GetStatus with the summary only.</summary>
internal static class PostureMapper
{
    public static V1.Posture ToPosture(PostureView view, CheckSeverity failOn, bool withAdvisories)
    {
        ArgumentNullException.ThrowIfNull(view);
        var posture = view.Posture;
        var summary = posture.Summary;
        var result = new V1.Posture
        {
            Available = posture.IsKnown,
            UnavailableReason = posture.UnknownReason ?? string.Empty,
            Ecosystem = posture.Package?.Ecosystem ?? string.Empty,
            Package = posture.Package?.Name ?? string.Empty,
            RunningVersion = posture.Package?.Version ?? string.Empty,
            EffectiveVersion = summary.EffectiveLevel ?? posture.Package?.Version ?? string.Empty,
            FixedLive = (uint)summary.FixedLive,
            FixedInstalled = (uint)summary.FixedInstalled,
            Open = (uint)summary.Open,
            NotAffected = (uint)summary.NotAffected,
            HighestOpenSeverity = summary.HighestOpen is { } highest ? ToSeverity(highest) : V1.Severity.Unknown,
            OpenCritical = (uint)summary.OpenBySeverity.Critical,
            OpenHigh = (uint)summary.OpenBySeverity.High,
            OpenMedium = (uint)summary.OpenBySeverity.Medium,
            OpenLow = (uint)(summary.OpenBySeverity.Low + summary.OpenBySeverity.None),
            OpenUnknown = (uint)summary.OpenBySeverity.Unknown,
            RebootTarget = summary.RebootTarget ?? string.Empty,
            OpenWithoutFix = (uint)summary.OpenWithoutFix,
            AdvisoryCount = (uint)view.AdvisoryCount,
            FeedFileCount = (uint)view.FeedFileCount,
            EvaluatedAt = Timestamp.FromDateTimeOffset(view.EvaluatedAt),
            FailOnSeverity = failOn switch
            {
                CheckSeverity.Low => V1.Severity.Low,
                CheckSeverity.Medium => V1.Severity.Medium,
                CheckSeverity.High => V1.Severity.High,
                CheckSeverity.Critical => V1.Severity.Critical,
                _ => V1.Severity.Unknown,
            },
            AdvisoriesDir = view.AdvisoriesDir,
        };
        result.Problems.AddRange(view.Problems.Select(p => new V1.Problem { Path = p.File, Message = p.Message }));
        if (withAdvisories)
        {
            result.Advisories.AddRange(posture.Items.Select(ToAdvisory));
        }

        return result;
    }

    /// <summary>The answer before the first evaluation.</summary>
    public static PostureView NotYetEvaluated(DateTimeOffset now) =>
        new(KernelPosture.Unknown("not evaluated yet (livepatchd is starting)"), string.Empty, 0, 0, [], now);

    private static V1.PostureAdvisory ToAdvisory(PostureItem item)
    {
        var advisory = new V1.PostureAdvisory
        {
            Id = item.AdvisoryId,
            Severity = ToSeverity(item.Severity),
            State = item.State switch
            {
                PostureState.FixedLive => V1.CveState.FixedLive,
                PostureState.FixedInstalled => V1.CveState.FixedInstalled,
                PostureState.Open => V1.CveState.Open,
                _ => V1.CveState.NotAffected,
            },
            FixedVersion = item.FixedVersion ?? string.Empty,
            Summary = item.Summary ?? string.Empty,
            MetadataSource = item.State is PostureState.FixedLive or PostureState.FixedInstalled && item.Patches.Count > 0
                ? string.Join(",", item.Patches.Select(p => p.Source switch
                {
                    ClaimSource.SignedMetadata => "signed",
                    ClaimSource.UnsignedMetadata => "unsigned-modinfo",
                    _ => "operator",
                }).Distinct())
                : string.Empty,
        };
        advisory.CveIds.AddRange(item.CveIds);
        advisory.Patches.AddRange(item.Patches.Select(p => p.Patch).Distinct());
        return advisory;
    }

    private static V1.Severity ToSeverity(Severity severity) => severity switch
    {
        Severity.None => V1.Severity.None,
        Severity.Low => V1.Severity.Low,
        Severity.Medium => V1.Severity.Medium,
        Severity.High => V1.Severity.High,
        Severity.Critical => V1.Severity.Critical,
        _ => V1.Severity.Unknown,
    };
}

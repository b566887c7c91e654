using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Core.Health;
using V1 = LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Daemon.Api;

/// <summary>The kernel health guard in the gRPC contract: GetHealth and AgentStatus.health.</summary>
internal static class HealthMapper
{
    public static V1.HealthStatus ToHealth(HealthView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var health = new V1.HealthStatus
        {
            Reader = view.Reader.ToString().ToLowerInvariant(),
            ReaderProblem = view.ReaderProblem ?? string.Empty,
            KmsgPath = view.KmsgPath,
            OnKernelWarning = ToAction(view.OnKernelWarning),
            OnKernelBug = ToAction(view.OnKernelBug),
            Window = Duration.FromTimeSpan(view.Window),
            RecordsMissed = view.RecordsMissed,
            ReportsSuppressed = (ulong)view.ReportsSuppressed,
        };
        health.Windows.AddRange(view.Windows.Select(w => new V1.HealthWindow
        {
            Patch = w.Patch,
            OpenedAt = Timestamp.FromDateTimeOffset(w.OpenedAt),
            ClosesAt = Timestamp.FromDateTimeOffset(w.ClosesAt),
        }));
        health.Reports.AddRange(view.Recent.Select(ToReport));
        health.Quarantined.AddRange(view.Quarantined.Select(ToQuarantined));
        return health;
    }

    public static V1.KernelHealthReport ToReport(HealthReportView report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var result = new V1.KernelHealthReport
        {
            Id = report.Id,
            Time = Timestamp.FromDateTimeOffset(report.At),
            Kind = KernelReport.Name(report.Kind),
            Headline = report.Headline,
            Patch = report.Attribution.Patch ?? string.Empty,
            Attribution = Attribution.Name(report.Attribution.Basis),
            Evidence = report.Attribution.Evidence,
            Action = ToAction(report.Action),
            Outcome = report.Outcome,
            OperationId = report.OperationId ?? 0,
            Summary = report.Summary,
        };
        result.Lines.AddRange(report.Lines);
        if (report.Sequence is { } sequence)
        {
            result.Sequence = sequence;
        }

        return result;
    }

    public static V1.QuarantinedPatch ToQuarantined(QuarantineEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new V1.QuarantinedPatch
        {
            Name = entry.Name,
            Sha256 = entry.Sha256 ?? string.Empty,
            QuarantinedAt = Timestamp.FromDateTimeOffset(entry.QuarantinedAt),
            Kind = KernelReport.Name(entry.Kind),
            Attribution = Attribution.Name(entry.Basis),
            Evidence = entry.Evidence,
            Headline = entry.Headline,
            By = entry.By,
            OperationId = entry.OperationId ?? 0,
            Reason = entry.Reason,
        };
    }

    public static V1.HealthAction ToAction(HealthAction action) => action switch
    {
        HealthAction.Revert => V1.HealthAction.Revert,
        HealthAction.Alert => V1.HealthAction.Alert,
        _ => V1.HealthAction.None,
    };
}

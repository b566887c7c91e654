using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Client;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl check</c>: one line for a monitoring system, and the state as the exit code (docs/api.md, "lpctl"): 0 idle and
/// healthy, 1 a transition in progress, 2 a transition stalled or an open CVE advisory at or above Check:FailOnSeverity
/// (state "vulnerable"), 3 unsupported or an error (the daemon degraded,
/// unreachable, or any failed call). The line starts with the Nagios/Icinga words OK, WARNING, CRITICAL and UNKNOWN,
/// whose plugin exit codes these are, so the command works as a check plugin as it is.
/// </summary>
internal sealed class CheckCommand : AgentCommand
{
    public const int Healthy = 0;
    public const int InTransition = 1;
    public const int Stalled = 2;
    public const int Unknown = 3;

    protected override Command CreateCommand() => new(
        "check",
        "Check for monitoring: one line and the exit code 0 idle and healthy, 1 transition in progress, "
        + "2 transition stalled or an open CVE at or above Check:FailOnSeverity, 3 unsupported or error (daemon degraded or unreachable)");

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        CheckResult result;
        try
        {
            result = Evaluate(await invocation.Client.GetStatusAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (AgentCallException ex)
        {
            // Monitoring needs the verdict on stdout and the UNKNOWN code, not lpctl's usual exit 3/4 mapping.
            result = new CheckResult(Unknown, "error", $"{ex.Message} ({ex.Reason})");
        }

        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(new HealthCheckDocument(result.ExitCode, Word(result.ExitCode), result.State, result.Message), LpctlJsonContext.Default.HealthCheckDocument)
            : $"LIVEPATCH {Word(result.ExitCode)} - {TerminalText.Escape(result.Message)}\n");
        return result.ExitCode;
    }

    /// <summary>The verdict on a status: exit code, state word and the sentence for the operator.</summary>
    internal static CheckResult Evaluate(AgentStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var release = status.Kernel?.Release is { Length: > 0 } r ? r : "unknown kernel";
        var patches = string.Create(CultureInfo.InvariantCulture, $"{status.EnabledPatchCount} of {status.PatchCount} patch(es) enabled on {release}");
        var transition = status.Transition is { } t
            ? string.Create(CultureInfo.InvariantCulture,
                $"{t.Patch} {(t.Patching ? "patching" : "unpatching")} for {(t.Elapsed?.ToTimeSpan().TotalSeconds ?? 0):F0} s")
            : "a transition";
        if (status.State is AgentState.Idle or AgentState.Transitioning && OpenAtOrAbove(status.Posture) is { } open)
        {
            // Exposure outranks a transition in progress: the host is vulnerable now, whatever the transition does.
            return new CheckResult(Stalled, "vulnerable", string.Create(CultureInfo.InvariantCulture,
                $"{open.Count} open CVE advisory(ies) at or above {PostureOutput.SeverityWord(open.Threshold)} "
                + $"(highest {PostureOutput.SeverityWord(open.Highest)}); {PostureOutput.StatusLine(status.Posture!)}; see lpctl cves"));
        }

        return status.State switch
        {
            AgentState.Idle => new CheckResult(Healthy, "idle", $"idle, {patches}"
                + (status.ForcedModules.Count > 0 ? $"; forced, reboot to unload: {string.Join(", ", status.ForcedModules)}" : string.Empty)),
            AgentState.Transitioning => new CheckResult(InTransition, "transitioning", $"{transition}; {patches}"),
            AgentState.Stalled => new CheckResult(Stalled, "stalled",
                string.Create(CultureInfo.InvariantCulture, $"stalled: {transition}, {status.BlockingTasks} blocking task(s); see lpctl blocking")),
            AgentState.Unsupported => new CheckResult(Unknown, "unsupported", $"the running kernel ({release}) has no livepatch support"),
            AgentState.Degraded => new CheckResult(Unknown, "degraded",
                "livepatchd is degraded: " + (status.Problems.Count > 0 ? string.Join("; ", status.Problems.Select(p => p.Message)) : "see lpctl status")),
            _ => new CheckResult(Unknown, "unknown", $"livepatchd reported an unknown state ({status.State})"),
        };
    }

    /// <summary>The open advisories at or above Check:FailOnSeverity (sent by the daemon); null when none or off.</summary>
    private static (uint Count, Severity Threshold, Severity Highest)? OpenAtOrAbove(Posture? posture)
    {
        if (posture is not { Available: true } p || p.FailOnSeverity == Severity.Unknown || p.Open == 0 || p.HighestOpenSeverity < p.FailOnSeverity)
        {
            return null;
        }

        uint count = 0;
        foreach (var (severity, n) in new[] { (Severity.Critical, p.OpenCritical), (Severity.High, p.OpenHigh), (Severity.Medium, p.OpenMedium), (Severity.Low, p.OpenLow) })
        {
            count += severity >= p.FailOnSeverity ? n : 0;
        }

        return (count, p.FailOnSeverity, p.HighestOpenSeverity);
    }

    private static string Word(int exitCode) => exitCode switch
    {
        Healthy => "OK",
        InTransition => "WARNING",
        Stalled => "CRITICAL",
        _ => "UNKNOWN",
    };
}

internal sealed record CheckResult(int ExitCode, string State, string Message);

/// <summary>
/// The output of <c>lpctl -o json check</c>: the exit code, its monitoring word (OK, WARNING, CRITICAL, UNKNOWN),
/// the state (idle, transitioning, stalled, unsupported, degraded, error) and the sentence.
/// </summary>
internal sealed record HealthCheckDocument(int ExitCode, string Status, string State, string Message)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

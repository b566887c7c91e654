using System.CommandLine;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl cves [--state STATE]... [--severity MIN]</c>: every advisory that concerns the running kernel's
/// package, with its severity, whether a loaded patch closes it (fixed-live), an installed one would
/// (fixed-installed), or it is open and which package version a reboot needs. Exit 0 whenever the daemon answered.
/// </summary>
internal sealed class CvesCommand : AgentCommand
{
    private static readonly string[] States = ["open", "fixed-live", "fixed-installed"];
    private static readonly string[] Severities = ["unknown", "none", "low", "medium", "high", "critical"];

    private readonly Option<string[]> _state = new("--state")
    {
        Description = "Only advisories in this state (repeatable): " + string.Join(", ", States),
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string?> _severity = new("--severity")
    {
        Description = "Only advisories at or above this severity: " + string.Join(", ", Severities.Skip(1)),
    };

    public CvesCommand()
    {
        _state.AcceptOnlyFromAmong(States);
        _severity.AcceptOnlyFromAmong(Severities);
    }

    protected override Command CreateCommand() => new(
        "cves",
        "Show the kernel CVE posture: each advisory for the running kernel package, its severity, and whether a "
        + "loaded patch fixes it, an installed one would, or it is open (and which kernel version a reboot needs)")
    {
        _state,
        _severity,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var states = parseResult.GetValue(_state) ?? [];
        var severity = parseResult.GetValue(_severity);
        var posture = await invocation.Client.GetPostureAsync(cancellationToken).ConfigureAwait(false);
        var minimum = severity is null ? Severity.Unknown : (Severity)Array.IndexOf(Severities, severity);
        var advisories = posture.Advisories
            .Where(a => states.Length == 0 || states.Contains(PostureOutput.StateWord(a.State)))
            .Where(a => severity is null || a.Severity >= minimum)
            .ToList();
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(PostureOutput.ToDocument(posture, advisories), LpctlJsonContext.Default.PostureDocument)
            : PostureOutput.Table(posture, advisories));
        return ExitCodes.Ok;
    }
}

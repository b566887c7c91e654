using System.CommandLine;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary><c>lpctl status</c>: the kernel's live patching facts and the daemon's overall state.</summary>
internal sealed class StatusCommand : AgentCommand
{
    protected override Command CreateCommand() => new(
        "status",
        "Show the running kernel (release, livepatch support, taint, lockdown, signature enforcement), "
        + "the overall state, patch counts and any running transition");

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var status = await invocation.Client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(JsonOutput.ToDocument(status), LpctlJsonContext.Default.StatusDocument)
            : TableOutput.Status(status, invocation.TimeZone));
        return ExitCodes.Ok;
    }
}

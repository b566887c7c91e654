using System.CommandLine;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary><c>lpctl list</c>: every registered live patch, one per line.</summary>
internal sealed class ListCommand : AgentCommand
{
    protected override Command CreateCommand() => new(
        "list",
        "List the live patches registered in /sys/kernel/livepatch with their state, objects, functions and module");

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var patches = await invocation.Client.ListPatchesAsync(cancellationToken).ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(JsonOutput.ToDocument(patches), LpctlJsonContext.Default.PatchListDocument)
            : TableOutput.PatchList(patches));
        return ExitCodes.Ok;
    }
}

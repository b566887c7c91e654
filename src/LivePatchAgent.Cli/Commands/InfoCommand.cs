using System.CommandLine;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary><c>lpctl info NAME</c>: one live patch in full, with every object and function.</summary>
internal sealed class InfoCommand : AgentCommand
{
    private readonly Argument<string> _name = OptionParsers.Name("The patch (module) name, as `lpctl list` shows it");

    protected override Command CreateCommand()
    {
        return new Command("info", "Show one live patch in detail: state, module facts, every patched object and function")
        {
            _name,
        };
    }

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var patch = await invocation.Client
            .GetPatchAsync(parseResult.GetRequiredValue(_name), cancellationToken)
            .ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(new PatchInfoDocument(JsonOutput.ToDocument(patch)), LpctlJsonContext.Default.PatchInfoDocument)
            : TableOutput.PatchInfo(patch));
        return ExitCodes.Ok;
    }
}

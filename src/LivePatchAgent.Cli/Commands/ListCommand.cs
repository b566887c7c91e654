using System.CommandLine;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl list</c>: every registered live patch, one per line. <c>lpctl list --installed [--all-kernels]</c>: the
/// installed patches of the running kernel (or of every kernel), each with whether it is loaded now.
/// </summary>
internal sealed class ListCommand : AgentCommand
{
    private readonly Option<bool> _installed = new("--installed")
    {
        Description = "List the installed patches (the store) instead, with whether each is loaded now",
    };

    private readonly Option<bool> _allKernels = new("--all-kernels")
    {
        Description = "With --installed: the installed patches of every kernel release, not only the running one",
    };

    protected override Command CreateCommand()
    {
        var command = new Command(
            "list",
            "List the live patches registered in /sys/kernel/livepatch with their state, objects, functions and module")
        {
            _installed,
            _allKernels,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(_allKernels) && !result.GetValue(_installed))
            {
                result.AddError("--all-kernels needs --installed");
            }
        });
        return command;
    }

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        if (parseResult.GetValue(_installed))
        {
            var installed = await invocation.Client
                .ListInstalledAsync(null, parseResult.GetValue(_allKernels), cancellationToken)
                .ConfigureAwait(false);
            invocation.Write(invocation.Format == OutputFormat.Json
                ? JsonOutput.Document(StoreOutput.ToDocument(installed), LpctlJsonContext.Default.InstalledListDocument)
                : StoreOutput.InstalledList(installed));
            return ExitCodes.Ok;
        }

        var patches = await invocation.Client.ListPatchesAsync(cancellationToken).ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(JsonOutput.ToDocument(patches), LpctlJsonContext.Default.PatchListDocument)
            : TableOutput.PatchList(patches));
        return ExitCodes.Ok;
    }
}

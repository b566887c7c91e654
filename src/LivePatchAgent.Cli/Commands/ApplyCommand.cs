using System.CommandLine;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl apply [--resume] [--timeout SECONDS]</c>: runs start-up apply now. With <c>--resume</c> it also lifts the
/// crash-loop guard left by an apply that an earlier boot did not survive. Exit 1 when an installed patch failed.
/// </summary>
internal sealed class ApplyCommand : AgentCommand
{
    private readonly Option<bool> _resume = new("--resume")
    {
        Description = "Apply even though the machine went down during an earlier apply (previous-apply-interrupted)",
    };

    private readonly Option<double?> _timeout = OptionParsers.OperationTimeout(
        "How long each load waits for its transition; default: the daemon's Limits:OperationTimeout, 60 s");

    protected override Command CreateCommand() => new(
        "apply",
        "Re-verify and load every installed patch of the running kernel that is not loaded")
    {
        _resume,
        _timeout,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var timeout = parseResult.GetValue(_timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        var response = await invocation.Client
            .ApplyInstalledAsync(parseResult.GetValue(_resume), timeout, cancellationToken)
            .ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(StoreOutput.ToDocument(response), LpctlJsonContext.Default.ApplyDocument)
            : StoreOutput.Apply(response));
        var failed = response.Results.Where(r => r.Outcome == ApplyOutcome.Failed).ToList();
        if (failed.Count > 0)
        {
            throw new CommandFailedException(
                $"{failed.Count} installed patch(es) failed: " + string.Join(", ", failed.Select(f => $"{f.Name} ({f.Reason})")),
                failed[0].Reason);
        }

        return ExitCodes.Ok;
    }
}

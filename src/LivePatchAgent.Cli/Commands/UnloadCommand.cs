using System.CommandLine;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl unload NAME [--timeout SECONDS]</c>: disables the patch, waits for its unpatching transition and
/// removes its module; also removes a leftover module (replaced or disabled, still loaded).
/// </summary>
internal sealed class UnloadCommand : AgentCommand
{
    private readonly Argument<string> _name = OptionParsers.Name(
        "The patch (module) name, as `lpctl list` shows it (a patch or a leftover module)");

    private readonly Option<double?> _timeout = OptionParsers.OperationTimeout(
        "How long livepatchd waits for the unpatching transition and for the module to become free; default: "
        + "the daemon's Limits:OperationTimeout, 60 s");

    protected override Command CreateCommand() => new(
        "unload",
        "Disable a live patch, wait for its unpatching transition, and remove its module (also removes a "
        + "leftover module)")
    {
        _name,
        _timeout,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var name = parseResult.GetRequiredValue(_name);
        var timeout = parseResult.GetValue(_timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        UnloadPatchResponse response;
        try
        {
            response = await invocation.Client.UnloadPatchAsync(name, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            invocation.ReportError($"interrupted: {name} may already be disabled or removed",
                "check with `lpctl list` and `lpctl status` before retrying");
            throw;
        }

        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.UnloadDocument)
            : TableOutput.Unload(response));
        return ExitCodes.Ok;
    }
}

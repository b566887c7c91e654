using System.CommandLine;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl revert NAME [--timeout SECONDS]</c>: reverses the running transition of a patch (writes the opposite
/// value to <c>enabled</c>) and waits for the reversed transition; a reversed load also has its module removed.
/// Exit 0 when the reversal completed, 1 when it is still running at the timeout or the patch is not in
/// transition ("no-transition").
/// </summary>
internal sealed class RevertCommand : AgentCommand
{
    private readonly Argument<string> _name = OptionParsers.Name("The patch whose transition to reverse, as `lpctl status` shows it");

    private readonly Option<double?> _timeout = OptionParsers.OperationTimeout(
        "How long livepatchd waits for the reversed transition (and the module removal); default: the daemon's "
        + "Limits:OperationTimeout, 60 s");

    protected override Command CreateCommand() => new(
        "revert",
        "Reverse the running transition of a live patch: a load being applied is undone and its module removed, "
        + "an unload being applied leaves the patch enabled")
    {
        _name,
        _timeout,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var name = parseResult.GetRequiredValue(_name);
        var timeout = parseResult.GetValue(_timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        RevertTransitionResponse response;
        try
        {
            response = await invocation.Client.RevertTransitionAsync(name, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupting lpctl stops the daemon's wait, not the kernel's reversal.
            invocation.ReportError($"interrupted: the revert of {name} may already have reached the kernel",
                "check with `lpctl status` and `lpctl list` before retrying");
            throw;
        }

        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.RevertDocument)
            : TableOutput.Revert(response));
        if (response.Completed)
        {
            return ExitCodes.Ok;
        }

        throw new CommandFailedException(
            $"the reversed transition of {response.Name} is still running",
            ErrorReason.TransitionTimeout.Code,
            "it goes on in the kernel: see what holds it with `lpctl blocking` and follow it with `lpctl status`; "
            + "see docs/operations.md for a stalled transition");
    }
}

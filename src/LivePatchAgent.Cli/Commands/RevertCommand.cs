using System.CommandLine;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl revert NAME [--timeout SECONDS]</c>: reverses the running transition of a patch (writes the opposite
/// value to <c>enabled</c>) and waits for the reversed transition; a reversed load also has its module removed.
/// Exit 0 when the reversal completed, 1 when it is still running at the timeout or the patch is not in
/// transition ("no-transition").
/// </summary>
internal sealed class RevertCommand : OperationCommand
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

    protected override StartOperationRequest BuildRequest(ParseResult parseResult) => new()
    {
        Revert = new RevertTransitionRequest { Name = parseResult.GetRequiredValue(_name), Timeout = Timeout(parseResult.GetValue(_timeout)) },
    };
}

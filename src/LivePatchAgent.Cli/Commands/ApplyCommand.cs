using System.CommandLine;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl apply [--resume] [--timeout SECONDS]</c>: runs start-up apply now. With <c>--resume</c> it also lifts the
/// crash-loop guard left by an apply that an earlier boot did not survive. Exit 1 when an installed patch failed.
/// </summary>
internal sealed class ApplyCommand : OperationCommand
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

    protected override StartOperationRequest BuildRequest(ParseResult parseResult) => new()
    {
        Apply = new ApplyInstalledRequest { Resume = parseResult.GetValue(_resume), Timeout = Timeout(parseResult.GetValue(_timeout)) },
    };
}

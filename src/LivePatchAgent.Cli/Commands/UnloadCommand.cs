using System.CommandLine;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl unload NAME [--timeout SECONDS]</c>: disables the patch, waits for its unpatching transition and
/// removes its module; also removes a leftover module (replaced or disabled, still loaded).
/// </summary>
internal sealed class UnloadCommand : OperationCommand
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

    protected override StartOperationRequest BuildRequest(ParseResult parseResult) => new()
    {
        Unload = new UnloadPatchRequest { Name = parseResult.GetRequiredValue(_name), Timeout = Timeout(parseResult.GetValue(_timeout)) },
    };
}

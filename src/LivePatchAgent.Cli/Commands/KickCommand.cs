using System.CommandLine;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl kick NAME</c>: sends SIGSTOP then SIGCONT to the blocked user processes of the running transition, so
/// they leave the kernel and switch (on 4.16-5.0 kernels livepatchd writes the patch's <c>signal</c> attribute
/// instead). Kernel threads cannot be kicked. Exit 0 when the daemon kicked (even nobody); 1 when the patch is not
/// in transition ("no-transition").
/// </summary>
internal sealed class KickCommand : OperationCommand
{
    private readonly Argument<string> _name = OptionParsers.Name("The transitioning patch, as `lpctl status` shows it");

    protected override Command CreateCommand() => new(
        "kick",
        "Kick the user processes blocking a live patch transition with SIGSTOP then SIGCONT, so they leave the "
        + "kernel and switch (the kernel docs warn that stopping a process may upset it)")
    {
        _name,
    };

    protected override StartOperationRequest BuildRequest(ParseResult parseResult) => new()
    {
        Kick = new KickTasksRequest { Name = parseResult.GetRequiredValue(_name) },
    };
}

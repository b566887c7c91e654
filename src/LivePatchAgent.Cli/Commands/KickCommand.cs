using System.CommandLine;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl kick NAME</c>: sends SIGSTOP then SIGCONT to the blocked user processes of the running transition, so
/// they leave the kernel and switch (on 4.16-5.0 kernels livepatchd writes the patch's <c>signal</c> attribute
/// instead). Kernel threads cannot be kicked. Exit 0 when the daemon kicked (even nobody); 1 when the patch is not
/// in transition ("no-transition").
/// </summary>
internal sealed class KickCommand : AgentCommand
{
    private readonly Argument<string> _name = OptionParsers.Name("The transitioning patch, as `lpctl status` shows it");

    protected override Command CreateCommand() => new(
        "kick",
        "Kick the user processes blocking a live patch transition with SIGSTOP then SIGCONT, so they leave the "
        + "kernel and switch (the kernel docs warn that stopping a process may upset it)")
    {
        _name,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var response = await invocation.Client
            .KickTasksAsync(parseResult.GetRequiredValue(_name), cancellationToken)
            .ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.KickDocument)
            : TableOutput.Kick(response));
        return ExitCodes.Ok;
    }
}

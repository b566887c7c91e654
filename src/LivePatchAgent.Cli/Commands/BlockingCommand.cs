using System.CommandLine;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Client;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl blocking [NAME] [--no-stacks]</c>: the threads that hold the running transition back, each with the
/// patched function on its kernel stack that holds it. Exit 0 whenever the daemon answered, also when no
/// transition runs ("no transition is running") or when no thread in /proc blocks it (the daemon says why).
/// </summary>
internal sealed class BlockingCommand : AgentCommand
{
    private readonly Argument<string?> _name = new("NAME")
    {
        Description = "The transitioning patch; default: whichever patch is in transition",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private readonly Option<bool> _noStacks = new("--no-stacks")
    {
        Description = "Do not ask for the kernel stacks, which livepatchd may keep to its admins; "
            + "without them the patched function holding each thread is not found",
    };

    protected override Command CreateCommand() => new(
        "blocking",
        "Show the threads that hold the running transition back: pid, thread, command, systemd unit, the patched "
        + "function on its kernel stack that holds it, and the stack")
    {
        _name,
        _noStacks,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var name = parseResult.GetValue(_name);
        var includeStacks = !parseResult.GetValue(_noStacks);
        BlockingTasksResponse response;
        try
        {
            response = await invocation.Client
                .GetBlockingTasksAsync(string.IsNullOrWhiteSpace(name) ? null : name, includeStacks, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (AgentCallException ex) when (ex.IsPermissionDenied && includeStacks)
        {
            // Stacks are admin-only; the rest of the diagnosis is open to every local user.
            var (message, _) = ErrorReport.Describe(ex, invocation.Format);
            invocation.ReportError(message,
                ErrorReport.PermissionHint + ", or run `lpctl blocking --no-stacks` to see the threads without their stacks");
            return ExitCodes.PermissionDenied;
        }

        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.BlockingDocument)
            : TableOutput.Blocking(response));
        return ExitCodes.Ok;
    }
}

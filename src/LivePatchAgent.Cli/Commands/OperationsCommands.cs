using System.CommandLine;
using System.Globalization;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl operations [--running]</c>: the running operations, then the recent finished ones (livepatchd keeps the
/// last 100; older ones are in <c>lpctl history</c>).
/// </summary>
internal sealed class OperationsCommand : AgentCommand
{
    private readonly Option<bool> _running = new("--running")
    {
        Description = "Only the operations that are still running",
    };

    protected override Command CreateCommand() => new(
        "operations",
        "List the running and recent operations (loads, unloads, installs, applies, reverts, ...), with their phase and result")
    {
        _running,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var operations = await invocation.Client
            .ListOperationsAsync(includeFinished: !parseResult.GetValue(_running), cancellationToken)
            .ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(OperationOutput.ToDocument(operations), LpctlJsonContext.Default.OperationListDocument)
            : OperationOutput.List(operations, invocation.TimeZone));
        return ExitCodes.Ok;
    }
}

/// <summary>
/// <c>lpctl wait ID</c>: follows an operation to its end, as the command that started it would have (the same live
/// progress line, output and exit code). After a detach (Ctrl-C), or for an operation someone else started.
/// </summary>
internal sealed class WaitCommand : AgentCommand
{
    private readonly Argument<long> _id = OperationId("The operation to follow, as `lpctl operations` lists it");

    protected override Command CreateCommand() => new(
        "wait",
        "Follow an operation to its end, with its progress, and exit with its result's code")
    {
        _id,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var operation = await invocation.Client.GetOperationAsync(parseResult.GetRequiredValue(_id), cancellationToken).ConfigureAwait(false);
        return await OperationFollower.FollowAsync(invocation, operation, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An operation id argument: a positive number.</summary>
    public static Argument<long> OperationId(string description) => new("ID")
    {
        Description = description,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0)
            {
                return id;
            }

            result.AddError($"'{text}' is not an operation id (a positive number, as `lpctl operations` lists it)");
            return 0;
        },
    };
}

/// <summary>
/// <c>lpctl cancel ID</c>: stops an operation where that is safe (while it verifies, waits for another transition, or
/// waits for a module to become free). While the kernel loads the module or runs the transition it is refused
/// ("operation-not-cancellable"), with what to do instead (`lpctl revert NAME`).
/// </summary>
internal sealed class CancelCommand : AgentCommand
{
    private readonly Argument<long> _id = WaitCommand.OperationId("The operation to cancel, as `lpctl operations` lists it");

    protected override Command CreateCommand() => new(
        "cancel",
        "Cancel a running operation where that is safe; refused, with the alternative, while the kernel acts")
    {
        _id,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var id = parseResult.GetRequiredValue(_id);
        var accepted = await invocation.Client.CancelOperationAsync(id, cancellationToken).ConfigureAwait(false);
        // The cancel was accepted; the operation stops at its next step. Wait for that, so the output says where.
        var final = accepted.Done ? accepted : await invocation.Client.WaitOperationAsync(id, null, cancellationToken).ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? OperationOutput.Json(final, null)
            : OperationOutput.Table(final));
        if (final.Result?.Kind == Protocol.V1.OperationResultKind.Cancelled)
        {
            return ExitCodes.Ok;
        }

        throw new CommandFailedException(
            $"operation {id} ended before the cancel took effect: {OperationOutput.KindText(final.Result?.Kind ?? Protocol.V1.OperationResultKind.Unspecified)}",
            Core.Errors.ErrorReason.OperationNotCancellable.Code);
    }
}

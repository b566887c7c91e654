using System.CommandLine;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// A command that runs an operation in livepatchd (load, unload, install, uninstall, apply, revert, force, kick):
/// it starts the operation and follows it to its end, drawing a live progress line on a terminal. Ctrl-C detaches:
/// the operation goes on, and lpctl says how to follow it again. The exit code and the output render the one result
/// the daemon set (docs/api.md, "Operations").
/// </summary>
internal abstract class OperationCommand : AgentCommand
{
    /// <summary>The operation to start; checks lpctl can make itself (a file to read, --yes) throw here.</summary>
    protected abstract StartOperationRequest BuildRequest(ParseResult parseResult);

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var request = BuildRequest(parseResult);
        Operation started;
        try
        {
            started = await invocation.Client.StartOperationAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            invocation.ReportError("interrupted before livepatchd answered: the operation may have started",
                "`lpctl operations` lists it; `lpctl wait ID` follows it");
            throw;
        }

        return await OperationFollower.FollowAsync(invocation, started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A --timeout value in seconds as the daemon's Duration; null leaves the daemon's own deadline.</summary>
    protected static Google.Protobuf.WellKnownTypes.Duration? Timeout(double? seconds) =>
        seconds is { } value ? Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(value)) : null;
}

/// <summary>Follows an operation to its end and renders it (the mutation commands and lpctl wait).</summary>
internal static class OperationFollower
{
    public static async Task<int> FollowAsync(CommandInvocation invocation, Operation operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ArgumentNullException.ThrowIfNull(operation);
        var progress = invocation.ShowsProgress ? new ProgressLine(invocation) : null;
        try
        {
            if (!operation.Done)
            {
                progress?.Draw(operation);
                var last = operation;
                try
                {
                    operation = await invocation.Client.WaitOperationAsync(operation.Id, state =>
                    {
                        last = state;
                        progress?.Draw(state);
                    }, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    progress?.Clear();
                    // Ctrl-C detaches: the operation belongs to livepatchd, not to this process.
                    invocation.ReportError(
                        $"detached from operation {last.Id} ({last.Kind}{(last.Patch.Length > 0 ? " " + last.Patch : string.Empty)}, {OperationOutput.PhaseText(last.Phase)}): it goes on in livepatchd",
                        $"follow it again with `lpctl wait {last.Id}`; cancel it with `lpctl cancel {last.Id}`; `lpctl operations` lists them all");
                    return ExitCodes.Interrupted;
                }
            }
        }
        finally
        {
            progress?.Clear();
        }

        return Render(invocation, operation);
    }

    /// <summary>Writes the operation's end (table or one JSON document) and returns the exit code of its result.</summary>
    public static int Render(CommandInvocation invocation, Operation operation)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ArgumentNullException.ThrowIfNull(operation);
        var result = operation.Result ?? new OperationResult { Kind = OperationResultKind.Unspecified, Message = operation.Message };
        var exit = ExitCodes.For(result);
        ErrorDocument? error = null;
        string? hint = null;
        if (exit == ExitCodes.Failed)
        {
            var reason = result.Reason.Length > 0 ? result.Reason : Core.Errors.ErrorReason.Internal.Code;
            hint = HintFor(operation, result);
            error = new ErrorDocument(reason, result.Message, hint);
        }

        if (invocation.Format == OutputFormat.Json)
        {
            invocation.Write(OperationOutput.Json(operation, error));
        }
        else if (error is null || result.Kind is OperationResultKind.Reversed or OperationResultKind.StillRunning)
        {
            // stdout carries what happened; a refusal or failure changed nothing to show, and its line goes to stderr.
            invocation.Write(error is null ? OperationOutput.Table(operation) : OperationOutput.Detail(operation));
        }
        if (error is not null)
        {
            var (message, described) = ErrorReport.Describe(result.Message, error.Reason, invocation.Format);
            invocation.ReportError(message, hint ?? described);
        }

        return exit;
    }

    private static string? HintFor(Operation operation, OperationResult result) => result.Kind switch
    {
        OperationResultKind.StillRunning => $"it goes on in the kernel: follow it with `lpctl status` and `lpctl blocking`; see docs/operations.md for a stalled transition",
        OperationResultKind.Reversed when operation.Patch.Length > 0 => $"`lpctl history --patch {operation.Patch}` shows what happened; `lpctl list` shows what is left of it",
        _ => null,
    };
}

/// <summary>One line on a terminal, redrawn in place while an operation runs.</summary>
internal sealed class ProgressLine(CommandInvocation invocation)
{
    private bool _drawn;

    public void Draw(Operation operation)
    {
        if (operation.Done)
        {
            return;
        }

        // \r returns to the start of the line and ESC[K clears what the previous, longer line left.
        invocation.Write("\r" + OperationOutput.ProgressLine(operation) + "\u001b[K");
        _drawn = true;
    }

    public void Clear()
    {
        if (_drawn)
        {
            invocation.Write("\r\u001b[K");
            _drawn = false;
        }
    }
}

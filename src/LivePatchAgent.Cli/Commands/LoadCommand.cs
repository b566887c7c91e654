using System.CommandLine;
using System.Globalization;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl load FILE [--no-wait] [--timeout SECONDS]</c>: uploads the module; livepatchd verifies it, loads exactly
/// those bytes and waits for the patching transition. Exit 0 when the patch ended up enabled (or, with --no-wait,
/// when the kernel accepted it); 1 when the daemon refused or the kernel failed it, when the transition was
/// reversed, or when it was still running at the timeout.
/// </summary>
internal sealed class LoadCommand : AgentCommand
{
    private readonly Argument<string> _file = new("FILE")
    {
        Description = "The module file (.ko); lpctl reads it and uploads its bytes",
    };

    private readonly Option<bool> _noWait = new("--no-wait")
    {
        Description = "Return once the kernel accepted the module, without waiting for the patching transition",
    };

    private readonly Option<double?> _timeout = OptionParsers.OperationTimeout(
        "How long livepatchd waits for the transition (and retries while another runs); default: the daemon's "
        + "Limits:OperationTimeout, 60 s");

    protected override Command CreateCommand() => new(
        "load",
        "Verify and load a live patch module, then wait for its patching transition to complete")
    {
        _file,
        _noWait,
        _timeout,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var path = parseResult.GetRequiredValue(_file);
        var noWait = parseResult.GetValue(_noWait);
        var timeout = parseResult.GetValue(_timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        var module = ModuleFile.Read(path);

        LoadPatchResponse response;
        try
        {
            response = await invocation.Client
                .LoadPatchAsync(module, Path.GetFullPath(path), noWait, timeout, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupting lpctl stops the daemon's wait, not the kernel: the module may be loaded already.
            invocation.ReportError($"interrupted: the load of {path} may have reached the kernel",
                "check with `lpctl list` and `lpctl status` before retrying");
            throw;
        }

        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.LoadDocument)
            : TableOutput.Load(response, noWait));

        if (TableOutput.LoadSucceeded(response, noWait))
        {
            return ExitCodes.Ok;
        }

        if (!response.TransitionCompleted)
        {
            var after = response.Elapsed is null
                ? ""
                : string.Create(CultureInfo.InvariantCulture, $" after {response.Elapsed.ToTimeSpan().TotalSeconds:0.#} s");
            throw new CommandFailedException(
                $"{response.Name} is loaded, but its patching transition is still running{after}",
                ErrorReason.TransitionTimeout.Code,
                "it goes on in the kernel: follow it with `lpctl status` and `lpctl blocking`; "
                + "see docs/operations.md for a stalled transition");
        }

        throw new CommandFailedException(
            $"{response.Name} was loaded, but its transition was reversed: the patch is not enabled",
            hint: $"`lpctl list` shows what is left of it; remove it with `lpctl unload {response.Name}`");
    }
}

using System.CommandLine;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Client;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// A command that talks to livepatchd. Subclasses declare their arguments and do one thing in
/// <see cref="ExecuteAsync"/>; this base connects, and maps every failure to a stderr message and an exit code.
/// Errors are handled here, inside the action, because System.CommandLine would otherwise catch them itself and
/// print a stack trace with exit code 1.
/// </summary>
internal abstract class AgentCommand
{
    /// <summary>Builds the System.CommandLine command with its action bound to this instance.</summary>
    public virtual Command Create(GlobalOptions globals, LpctlConsole console)
    {
        ArgumentNullException.ThrowIfNull(globals);
        ArgumentNullException.ThrowIfNull(console);
        var command = CreateCommand();
        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, globals, console, cancellationToken));
        return command;
    }

    /// <summary>The command with its name, description, arguments and options (no action).</summary>
    protected abstract Command CreateCommand();

    /// <summary>Does the work and returns the exit code; failures of the daemon call are thrown, not returned.</summary>
    protected abstract Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken);

    private async Task<int> RunAsync(ParseResult parseResult, GlobalOptions globals, LpctlConsole console,
        CancellationToken cancellationToken)
    {
        var socketPath = parseResult.GetRequiredValue(globals.Socket);
        // The validator has accepted the value already.
        _ = OutputFormats.TryParse(parseResult.GetValue(globals.Output), out var format);
        CommandInvocation? invocation = null;
        try
        {
            using var client = new AgentClient(socketPath);
            invocation = new CommandInvocation(client, format, console);
            return await ExecuteAsync(invocation, parseResult, cancellationToken).ConfigureAwait(false);
        }
        catch (CommandFailedException ex)
        {
            var (message, hint) = ex.Reason is null ? (ex.Message, ex.Hint) : ErrorReport.Describe(ex.Message, ex.Reason, format);
            Fail(console, format, invocation, ex.Reason ?? ErrorReason.Internal.Code, ex.Message, message, ex.Hint ?? hint);
            return ExitCodes.Failed;
        }
        catch (AgentCallException ex)
        {
            var (message, hint) = ErrorReport.Describe(ex, format);
            Fail(console, format, invocation, ex.Reason, ex.Message, message, hint);
            return ExitCodes.For(ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C or SIGTERM before the daemon answered (a command that follows an operation says more itself).
            ErrorReport.Write(console.Error, "interrupted before livepatchd answered",
                "an operation it had started goes on in livepatchd: `lpctl operations` lists it");
            return ExitCodes.Interrupted;
        }
        catch (OutputClosedException)
        {
            // The reader of stdout went away (`lpctl watch | head -1`): nobody is left to tell.
            return ExitCodes.Ok;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The boundary for what lpctl did not foresee: one line, reason "internal", never a stack trace dump.
            var reason = format == OutputFormat.Json ? $" ({ErrorReason.Internal.Code})" : "";
            Fail(console, format, invocation, ErrorReason.Internal.Code, $"internal error: {ex.GetType().Name}: {ex.Message}",
                $"internal error: {ex.GetType().Name}: {ex.Message}{reason}", "this is a bug in lpctl; please report it with the command line you ran");
            return ExitCodes.Failed;
        }
    }

    /// <summary>
    /// A failure: the "lpctl: ..." line (and hint) on stderr, and with <c>-o json</c> also one document on stdout,
    /// <c>{"schemaVersion":1,"error":{"reason","message","hint"}}</c>, so a script reads the reason, not prose;
    /// unless the command already wrote its own document (verify's report says why it failed).
    /// </summary>
    private static void Fail(LpctlConsole console, OutputFormat format, CommandInvocation? invocation, string reason, string plain, string message, string? hint)
    {
        ErrorReport.Write(console.Error, message, hint);
        if (format != OutputFormat.Json || invocation?.WroteData == true)
        {
            return;
        }

        try
        {
            console.Out.Write(JsonOutput.Document(new FailureDocument(new ErrorDocument(reason, plain, hint)), LpctlJsonContext.Default.FailureDocument));
            console.Out.Flush();
        }
        catch (IOException)
        {
            // Nobody reads stdout any more; stderr has the message.
        }
    }
}

/// <summary>What one run of a command works with: the connected client, the output format and the console.</summary>
internal sealed class CommandInvocation(AgentClient client, OutputFormat format, LpctlConsole console)
{
    public AgentClient Client { get; } = client;

    public OutputFormat Format { get; } = format;

    public TimeZoneInfo TimeZone => console.TimeZone;

    /// <summary>Draw live progress lines: a table on a terminal (never JSON, never a pipe).</summary>
    public bool ShowsProgress => Format == OutputFormat.Table && console.OutIsTerminal;

    /// <summary>Whether the command wrote anything to stdout.</summary>
    public bool WroteData { get; private set; }

    /// <summary>Writes data to stdout and flushes it, so a reader sees each piece as soon as it is complete.</summary>
    public void Write(string text)
    {
        WroteData |= text.Length > 0;
        try
        {
            console.Out.Write(text);
            console.Out.Flush();
        }
        catch (IOException ex)
        {
            throw new OutputClosedException(ex);
        }
    }

    /// <summary>A message for the user on stderr (never stdout, which carries data only).</summary>
    public void ReportError(string message, string? hint = null) => ErrorReport.Write(console.Error, message, hint);
}

/// <summary>
/// The command failed for a reason lpctl itself established (a file it cannot read, a verification that did not
/// pass, a transition still running): exit code 1 and this message on stderr.
/// </summary>
/// <param name="message">The "lpctl: ..." line, lowercase and specific.</param>
/// <param name="reason">The catalogue reason, when one applies; appended with <c>-o json</c>.</param>
/// <param name="hint">What to do; null for the reason's remedy from the catalogue (or no hint).</param>
internal sealed class CommandFailedException(string message, string? reason = null, string? hint = null) : Exception(message)
{
    public string? Reason { get; } = reason;

    public string? Hint { get; } = hint;
}

/// <summary>Writing to stdout failed: the reading end of the pipe is closed.</summary>
internal sealed class OutputClosedException(IOException inner) : Exception("stdout is closed", inner);

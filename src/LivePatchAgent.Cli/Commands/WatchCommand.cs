using System.CommandLine;
using System.Globalization;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl watch</c>: prints the daemon's events as they happen, one line each (JSON Lines with <c>-o json</c>),
/// flushed at once so a script tailing the output sees every event immediately.
/// <list type="bullet">
/// <item><c>--count N</c>: exit 0 after N events.</item>
/// <item><c>--timeout S</c>: stop after S seconds. Without --count that is success (exit 0: "watch for S
/// seconds"); with --count it means fewer than N events came in time, and the exit code is 1.</item>
/// <item>Ctrl-C or SIGTERM: the normal way to end an open-ended watch; exit 0.</item>
/// <item>The daemon ending the stream: exit 1; losing the daemon: exit 3.</item>
/// </list>
/// </summary>
internal sealed class WatchCommand : AgentCommand
{
    // CancellationTokenSource.CancelAfter accepts at most uint.MaxValue - 1 milliseconds (about 49 days).
    private const double MaxTimeoutSeconds = 49 * 86400;

    private readonly Option<int?> _count = new("--count", "-n")
    {
        Description = "Exit (code 0) after printing N events",
        HelpName = "N",
        CustomParser = result => OptionParsers.ParseOrReport<int>(result, "--count", "a whole number of at least 1",
            static text => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1
                ? n
                : null),
    };

    private readonly Option<double?> _timeout = new("--timeout")
    {
        Description = "Stop after SECONDS; exit 0, or 1 when --count events did not all arrive in time",
        HelpName = "SECONDS",
        CustomParser = result => OptionParsers.ParseOrReport<double>(result, "--timeout", "a positive number of seconds",
            static text => double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var s)
                && s > 0 && s <= MaxTimeoutSeconds
                ? s
                : null),
    };

    protected override Command CreateCommand()
    {
        return new Command(
            "watch",
            "Print live patch events as livepatchd observes them (transitions and their stalls, patches appearing "
            + "and going, taint and kernel changes); one line per event, JSON Lines with -o json")
        {
            _count,
            _timeout,
        };
    }

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var count = parseResult.GetValue(_count);
        var timeout = parseResult.GetValue(_timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;

        using var deadline = new CancellationTokenSource();
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        if (timeout is { } limit)
        {
            deadline.CancelAfter(limit);
        }

        var printed = 0;
        try
        {
            await foreach (var e in invocation.Client.WatchEventsAsync(watching.Token).ConfigureAwait(false))
            {
                invocation.Write(invocation.Format == OutputFormat.Json
                    ? JsonOutput.Line(JsonOutput.ToDocument(e), LpctlJsonContext.Default.EventDocument)
                    : TableOutput.EventLine(e, invocation.TimeZone));
                printed++;
                if (printed >= count)
                {
                    return ExitCodes.Ok;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Ok;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            if (count is null)
            {
                return ExitCodes.Ok;
            }

            invocation.ReportError(
                string.Create(CultureInfo.InvariantCulture,
                    $"timed out after {timeout!.Value.TotalSeconds:0.###}s with {printed} of {count} events"));
            return ExitCodes.Failed;
        }

        invocation.ReportError("livepatchd ended the event stream",
            "the daemon may be stopping; check `systemctl status livepatchd`");
        return ExitCodes.Failed;
    }
}

using System.CommandLine;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl history [--since WHEN] [--limit N] [--patch NAME]</c>: the audit journal, one operation per line
/// (who, what, when, the outcome), oldest first. Skipped journal lines (a torn write after a crash) are listed
/// after the table. Admin-only, like the journal files.
/// </summary>
internal sealed class HistoryCommand : AgentCommand
{
    private readonly Option<DateTimeOffset?> _since = OptionParsers.Since(
        "Only operations started since WHEN: a time (2026-11-28T14:00:00Z, \"2026-11-28 14:00\" in local time) or an age (90s, 30m, 2h, 7d)");

    private readonly Option<uint?> _limit = new("--limit")
    {
        Description = "Show at most the newest N operations (default 100, at most 10000)",
        HelpName = "N",
        CustomParser = result => OptionParsers.ParseOrReport<uint>(result, "--limit", "a number from 1 to 10000",
            static text => uint.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 10_000 ? n : null),
    };

    private readonly Option<string?> _patch = new("--patch")
    {
        Description = "Only operations on this patch",
        HelpName = "NAME",
    };

    protected override Command CreateCommand() => new(
        "history",
        "Show the audit journal: every load, unload, install, uninstall, apply, revert, force, kick and cleanup, "
        + "with who asked, when, the module's SHA-256 and the outcome; operations a crash interrupted say what the kernel showed afterwards")
    {
        _since,
        _limit,
        _patch,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var history = await invocation.Client
            .GetHistoryAsync(parseResult.GetValue(_since), parseResult.GetValue(_limit) ?? 100, parseResult.GetValue(_patch), cancellationToken)
            .ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(HistoryOutput.ToDocument(history), LpctlJsonContext.Default.HistoryDocument)
            : HistoryOutput.Table(history, invocation.TimeZone));
        return ExitCodes.Ok;
    }
}

using System.CommandLine;
using System.Text.Json.Serialization;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl metrics</c>: the daemon's metrics in the Prometheus text exposition format on stdout, exactly as the
/// daemon renders them for node_exporter's textfile collector, for agents that run a command (Telegraf exec,
/// Datadog, Zabbix). With <c>-o json</c>: one document with the exposition as a string, its media type, and the
/// textfile the daemon keeps.
/// </summary>
internal sealed class MetricsCommand : AgentCommand
{
    protected override Command CreateCommand() => new(
        "metrics",
        "Print livepatchd's metrics in the Prometheus text format (what it writes for node_exporter's textfile collector)");

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var metrics = await invocation.Client.GetMetricsAsync(cancellationToken).ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(new MetricsDocument(metrics.ContentType, metrics.Textfile, metrics.TextfileWritten, metrics.Text),
                LpctlJsonContext.Default.MetricsDocument)
            : metrics.Text);
        return ExitCodes.Ok;
    }
}

/// <summary>The output of <c>lpctl -o json metrics</c>: the exposition unchanged in <c>text</c>.</summary>
internal sealed record MetricsDocument(string ContentType, string Textfile, bool TextfileWritten, string Text)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

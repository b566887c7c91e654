using System.CommandLine;
using System.Net.Sockets;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Client;

namespace LivePatchAgent.Cli;

/// <summary>The options every command takes: where the daemon is and how to print.</summary>
internal sealed class GlobalOptions
{
    /// <summary>Overrides the default socket (an explicit --socket still wins).</summary>
    public const string SocketEnvironmentVariable = "LPCTL_SOCKET";

    public GlobalOptions()
    {
        Socket = new Option<string>("--socket")
        {
            Description = $"The livepatchd socket [env: {SocketEnvironmentVariable}]",
            HelpName = "PATH",
            Recursive = true,
            DefaultValueFactory = _ => DefaultSocketPath(),
        };
        Socket.Validators.Add(result =>
        {
            var path = result.GetValueOrDefault<string>();
            if (string.IsNullOrEmpty(path))
            {
                result.AddError("--socket needs a path");
                return;
            }

            try
            {
                _ = new UnixDomainSocketEndPoint(path);
            }
            catch (ArgumentException)
            {
                result.AddError($"socket path \"{path}\" is too long for a Unix socket");
            }
        });

        Output = new Option<string>("--output", "-o")
        {
            Description = "Output format: table for people, json (one document with schemaVersion) for scripts",
            HelpName = "table|json",
            Recursive = true,
            DefaultValueFactory = _ => OutputFormats.Table,
        };
        Output.CompletionSources.Add(_ => [new(OutputFormats.Table), new(OutputFormats.Json)]);
        Output.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (!OutputFormats.TryParse(value, out _))
            {
                result.AddError($"unknown output format \"{value}\" (use table or json)");
            }
        });
    }

    public Option<string> Socket { get; }

    public Option<string> Output { get; }

    public static string DefaultSocketPath() =>
        Environment.GetEnvironmentVariable(SocketEnvironmentVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : AgentChannel.DefaultSocketPath;
}

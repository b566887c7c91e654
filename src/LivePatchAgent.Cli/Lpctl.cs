using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;
using LivePatchAgent.Cli.Commands;

namespace LivePatchAgent.Cli;

/// <summary>The lpctl command line: the command tree, and the rules for usage errors and --version.</summary>
internal static class Lpctl
{
    /// <summary>
    /// The commands, in the order --help lists them. Adding a command is one class under Commands/ and one line
    /// here.
    /// </summary>
    private static AgentCommand[] CreateCommands() =>
    [
        new StatusCommand(),
        new CheckCommand(),
        new ListCommand(),
        new InfoCommand(),
        new VerifyCommand(),
        new LoadCommand(),
        new UnloadCommand(),
        new InstallCommand(),
        new UninstallCommand(),
        new ApplyCommand(),
        new BlockingCommand(),
        new RevertCommand(),
        new ForceCommand(),
        new KickCommand(),
        new OperationsCommand(),
        new WaitCommand(),
        new CancelCommand(),
        new HistoryCommand(),
        new CvesCommand(),
        new UnameCommand(),
        new MetricsCommand(),
        new HealthCommand(),
        new QuarantineCommand(),
        new WatchCommand(),
    ];

    public static RootCommand CreateRootCommand(LpctlConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        var globals = new GlobalOptions();
        var root = new RootCommand(
            "lpctl: inspect and manage Linux kernel live patches through livepatchd.\n"
            + "Exit codes: 0 ok, 1 operation failed, 2 usage error, 3 daemon unreachable, 4 permission denied.")
        {
            globals.Socket,
            globals.Output,
        };

        foreach (var option in root.Options.OfType<VersionOption>())
        {
            option.Action = new PrintVersionAction();
        }

        // Without an action on the root, System.CommandLine adds "required command was not provided" to every
        // other usage error; this says it once, and only when it is the problem.
        root.SetAction(_ =>
        {
            ErrorReport.Write(console.Error, "no command given", "run `lpctl --help` to see the commands");
            return ExitCodes.Usage;
        });

        foreach (var command in CreateCommands())
        {
            root.Subcommands.Add(command.Create(globals, console));
        }

        return root;
    }

    /// <summary>Parses and runs one lpctl command line; returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args, LpctlConsole console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        var parseResult = CreateRootCommand(console).Parse(args);

        // System.CommandLine reports parse errors with exit code 1, which lpctl reserves for failed operations;
        // usage errors are 2 (docs/api.md, "lpctl"), so they are reported here instead of by its ParseErrorAction.
        if (parseResult.Errors.Count > 0 && parseResult.Action is not { ClearsParseErrors: true })
        {
            ReportUsageErrors(parseResult, console.Error);
            return ExitCodes.Usage;
        }

        var configuration = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            // Every action maps its own exceptions (AgentCommand); a default handler would only hide a bug.
            EnableDefaultExceptionHandler = false,
        };
        try
        {
            return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static void ReportUsageErrors(ParseResult parseResult, TextWriter error)
    {
        foreach (var parseError in parseResult.Errors)
        {
            error.Write("lpctl: " + AsLpctlMessage(parseError.Message) + "\n");
        }

        error.Write($"hint: run `{CommandPath(parseResult)} --help` for usage\n");
        error.Flush();
    }

    /// <summary>System.CommandLine's sentences in lpctl's style: lowercase, no final period, one line.</summary>
    internal static string AsLpctlMessage(string message)
    {
        var text = message.Trim().Replace("\r", "", StringComparison.Ordinal).Replace("\n\t", " ", StringComparison.Ordinal)
            .Replace('\n', ' ').TrimEnd('.');
        return text.Length > 1 && char.IsUpper(text[0]) && !char.IsUpper(text[1])
            ? char.ToLowerInvariant(text[0]) + text[1..]
            : text;
    }

    private static string CommandPath(ParseResult parseResult)
    {
        var names = new List<string>();
        for (var result = parseResult.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Add(result.Parent is null ? "lpctl" : result.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>Prints "lpctl 0.1.0", with the short commit when the build recorded one.</summary>
    private sealed class PrintVersionAction : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.Write("lpctl " + Version + "\n");
            return ExitCodes.Ok;
        }

        internal static string Version
        {
            get
            {
                var informational = typeof(Lpctl).Assembly
                    .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
                var plus = informational.IndexOf('+', StringComparison.Ordinal);
                if (plus < 0)
                {
                    return informational;
                }

                var commit = informational[(plus + 1)..];
                return $"{informational[..plus]} ({commit[..Math.Min(12, commit.Length)]})";
            }
        }
    }
}

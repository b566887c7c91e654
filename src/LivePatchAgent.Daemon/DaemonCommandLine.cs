using System.CommandLine;
using LivePatchAgent.Daemon.Configuration;

namespace LivePatchAgent.Daemon;

/// <summary>What the command line asked for.</summary>
internal sealed record DaemonInvocation(string? ConfigFile, IReadOnlyDictionary<string, string?> Overrides, bool ShowConfig);

/// <summary>
/// The command line of livepatchd (docs/man/livepatchd.8.md):
/// <c>livepatchd [--config FILE] [--socket PATH] [--host-root DIR] [--state-dir DIR] [--no-dbus] [Section:Key=value ...]</c>
/// and <c>livepatchd config show</c>. Flags are sugar for configuration keys and win over every other layer.
/// </summary>
internal static class DaemonCommandLine
{
    public const int ExitUsage = 64;

    /// <summary>Parses the arguments; returns null after printing help, version or a usage error.</summary>
    public static DaemonInvocation? Parse(string[] args, TextWriter output, TextWriter error, out int exitCode)
    {
        var configOption = new Option<string>("--config") { Description = $"The config file (default {DaemonConfiguration.DefaultConfigFile}; a missing default file means defaults).", Recursive = true };
        var socketOption = new Option<string>("--socket") { Description = "The gRPC Unix socket (Api:SocketPath).", Recursive = true };
        var hostRootOption = new Option<string>("--host-root") { Description = "The root under which /sys and /proc are read (Paths:HostRoot).", Recursive = true };
        var stateDirOption = new Option<string>("--state-dir") { Description = "The state directory (Paths:StateDir).", Recursive = true };
        var noDBusOption = new Option<bool>("--no-dbus") { Description = "Do not publish the D-Bus interface (DBus:Enabled=false).", Recursive = true };
        var settingsArgument = SettingsArgument();
        var showSettingsArgument = SettingsArgument();
        var show = new Command("show", "Print the effective configuration as JSON and exit.") { showSettingsArgument };
        var config = new Command("config", "Configuration commands.") { show };
        var root = new RootCommand("livepatchd: the live patch agent daemon. Serves the kernel's live patch state over gRPC (Unix socket) and D-Bus.")
        {
            configOption, socketOption, hostRootOption, stateDirOption, noDBusOption, settingsArgument, config,
        };

        // The actions only mark which command was chosen; the caller runs the daemon.
        root.SetAction(_ => 0);
        show.SetAction(_ => 0);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                error.WriteLine($"livepatchd: {e.Message}");
            }

            error.WriteLine("livepatchd: try 'livepatchd --help'");
            exitCode = ExitUsage;
            return null;
        }

        // Any other action is --help or --version.
        if (parse.Action is not null && parse.Action != root.Action && parse.Action != show.Action)
        {
            exitCode = parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
            return null;
        }

        var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var setting in (parse.GetValue(settingsArgument) ?? []).Concat(parse.GetValue(showSettingsArgument) ?? []))
        {
            var eq = setting.IndexOf('=', StringComparison.Ordinal);
            overrides[setting[..eq]] = setting[(eq + 1)..];
        }

        // Relative paths on the command line are relative to where the operator stands.
        if (parse.GetValue(socketOption) is { } socket)
        {
            overrides["Api:SocketPath"] = Path.GetFullPath(socket);
        }

        if (parse.GetValue(hostRootOption) is { } hostRoot)
        {
            overrides["Paths:HostRoot"] = Path.GetFullPath(hostRoot);
        }

        if (parse.GetValue(stateDirOption) is { } stateDir)
        {
            overrides["Paths:StateDir"] = Path.GetFullPath(stateDir);
        }

        if (parse.GetValue(noDBusOption))
        {
            overrides["DBus:Enabled"] = "false";
        }

        exitCode = 0;
        return new DaemonInvocation(parse.GetValue(configOption), overrides, parse.CommandResult.Command == show);
    }

    private static Argument<string[]> SettingsArgument()
    {
        var argument = new Argument<string[]>("settings")
        {
            Description = "Any setting as Section:Key=value, e.g. Watch:IdleInterval=00:00:02.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        argument.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                var eq = token.Value.IndexOf('=', StringComparison.Ordinal);
                if (token.Value.StartsWith('-'))
                {
                    result.AddError($"unknown option \"{token.Value}\"");
                }
                else if (eq <= 0 || !token.Value[..eq].Contains(':', StringComparison.Ordinal))
                {
                    result.AddError($"\"{token.Value}\" is not a setting of the form Section:Key=value");
                }
            }
        });
        return argument;
    }
}

using System.CommandLine;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using LivePatchAgent.Cli;
using LivePatchAgent.Daemon;
using LivePatchAgent.Daemon.Configuration;
using Microsoft.Extensions.Configuration;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary>
/// The shipped text about the command lines stays in step with the parsers: the static bash and zsh completions
/// (packaging/completions), the man pages (docs/man) and the example config (packaging/livepatchd.json). Each
/// test fails on a command, option, exit code or setting that the parser or the options types know and the
/// text does not, so adding one without documenting it breaks the build.
/// </summary>
public sealed partial class CompletionAndManPageTests
{
    private static readonly string[] GlobalOptionNames = ["--socket", "-o", "--output"];

    /// <summary>Every lpctl command with the names (and aliases) of its own options, from the real parser.</summary>
    private static readonly Dictionary<string, SortedSet<string>> LpctlCommands = ReadLpctlCommands();

    public static TheoryData<string> CommandNames => [.. LpctlCommands.Keys];

    [Fact]
    public void The_parser_has_the_commands_these_tests_expect() =>
        Assert.Contains("install", LpctlCommands.Keys);

    [Fact]
    public void Bash_completion_offers_exactly_the_commands_of_the_parser()
    {
        var bash = Read("packaging/completions/lpctl.bash");

        var listed = BashCommands().Match(bash);
        Assert.True(listed.Success, "no commands=\"...\" list in lpctl.bash");
        Assert.Equal(LpctlCommands.Keys.Order(StringComparer.Ordinal), listed.Groups["names"].Value.Split(' ').Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(CommandNames))]
    public void Bash_completion_offers_exactly_the_options_of_each_command(string command)
    {
        var bash = Read("packaging/completions/lpctl.bash");

        var entry = Regex.Match(bash, $@"^\s+{Regex.Escape(command)}\) opts=(""(?<opts>[^""]*)"")? ;;$", RegexOptions.Multiline);
        Assert.True(entry.Success, $"lpctl.bash has no options entry for {command}");
        var offered = entry.Groups["opts"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(LpctlCommands[command], offered.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Bash_completion_offers_the_global_options() =>
        Assert.All(GlobalOptionNames, o => Assert.Matches($@"global_opts=""([^""]*\s)?{Regex.Escape(o)}(\s|"")", Read("packaging/completions/lpctl.bash")));

    [Theory]
    [MemberData(nameof(CommandNames))]
    public void Zsh_completion_describes_each_command_with_its_options(string command)
    {
        var zsh = Read("packaging/completions/_lpctl");

        Assert.Matches($@"^\s+'{Regex.Escape(command)}:[^']+'$", Line(zsh, $"'{command}:"));
        var entry = Regex.Match(zsh, $@"^\s+{Regex.Escape(command)}\)(?<body>.*?);;", RegexOptions.Multiline | RegexOptions.Singleline).Groups["body"].Value;
        Assert.NotEqual("", entry);
        foreach (var option in LpctlCommands[command])
        {
            // The option's spec starts its own quoted word: '--now[...]', '*--cve[...]' (repeatable) or
            // '(-n --count)'{-n,--count}'[...]'.
            Assert.True(entry.Contains($"'{option}[", StringComparison.Ordinal) || entry.Contains($"'*{option}[", StringComparison.Ordinal) || entry.Contains($"{option}}}'[", StringComparison.Ordinal)
                || entry.Contains($"{{{option},", StringComparison.Ordinal) || MentionsTimeout(entry, option),
                $"_lpctl: {command} does not complete {option}: {entry}");
        }
    }

    [Fact]
    public void Zsh_completion_offers_no_command_the_parser_does_not_know()
    {
        var zsh = Read("packaging/completions/_lpctl");
        var described = ZshCommands().Matches(zsh).Select(m => m.Groups["name"].Value);

        Assert.Equal(LpctlCommands.Keys.Order(StringComparer.Ordinal), described.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(CommandNames))]
    public void The_lpctl_man_page_documents_each_command_and_its_options(string command)
    {
        var man = Read("docs/man/lpctl.1.md");

        Assert.Matches($@"(?m)^\*\*{Regex.Escape(command)}\*\*", man);
        foreach (var option in LpctlCommands[command])
        {
            Assert.Contains($"**{ManOption(option)}**", man, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_lpctl_man_page_documents_the_global_options_environment_and_every_exit_code()
    {
        var man = Read("docs/man/lpctl.1.md");

        Assert.All(GlobalOptionNames, o => Assert.Contains($"**{ManOption(o)}**", man, StringComparison.Ordinal));
        Assert.Contains("**" + GlobalOptions.SocketEnvironmentVariable + "**", man, StringComparison.Ordinal);
        var exitStatus = Section(man, "EXIT STATUS");
        foreach (var code in ConstantsOf(typeof(ExitCodes)))
        {
            Assert.Contains($"**{code}**", exitStatus, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_livepatchd_man_page_documents_every_option_of_its_help_and_every_exit_code()
    {
        var man = Read("docs/man/livepatchd.8.md");
        using var help = new StringWriter();
        Assert.Null(DaemonCommandLine.Parse(["--help"], help, TextWriter.Null, out var exitCode));
        Assert.Equal(0, exitCode);

        var options = DaemonHelpOption().Matches(help.ToString()).Select(m => m.Groups["name"].Value).ToList();
        Assert.Contains("--no-dbus", options);
        Assert.All(options, o => Assert.Contains($"**{ManOption(o)}**", man, StringComparison.Ordinal));
        Assert.Contains("**config show**", man, StringComparison.Ordinal);
        var exitStatus = Section(man, "EXIT STATUS");
        foreach (var code in ConstantsOf(typeof(DaemonProgram)).Append(DaemonCommandLine.ExitUsage))
        {
            Assert.Contains($"**{code}**", exitStatus, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_config_man_page_and_the_example_config_name_every_setting()
    {
        var man = Read("docs/man/livepatchd.json.5.md");
        var example = Read("packaging/livepatchd.json");

        foreach (var (section, key) in Settings())
        {
            Assert.Contains($"## {section}\n", man, StringComparison.Ordinal);
            Assert.Contains($"**{key}** (default", Section(man, section, level: "##"), StringComparison.Ordinal);
            Assert.Matches($@"//\s+""{section}"": \{{[^{{}}]*//\s+""{key}"":", example);
        }
    }

    [Fact]
    public void The_example_config_as_shipped_is_valid_and_means_the_defaults() =>
        Assert.Equal(DefaultsAsJson(), EffectiveAsJson(Read("packaging/livepatchd.json")));

    [Fact]
    public void The_example_config_with_every_setting_uncommented_is_valid_and_shows_the_defaults()
    {
        var uncommented = DisabledSetting().Replace(Read("packaging/livepatchd.json"), "$1$2");
        Assert.DoesNotMatch(DisabledSetting(), uncommented);

        Assert.Equal(DefaultsAsJson(), EffectiveAsJson(uncommented));
    }

    private static string EffectiveAsJson(string configText)
    {
        var file = Path.Combine(Path.GetTempPath(), $"lp-example-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, configText);
        try
        {
            var configuration = DaemonConfiguration.Build(file, new Dictionary<string, string?>());
            Assert.Empty(DaemonConfiguration.Validate(configuration));
            return JsonSerializer.Serialize(DaemonConfiguration.Effective(configuration), DaemonJsonContext.Default.EffectiveConfiguration);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string DefaultsAsJson()
    {
        var configuration = new ConfigurationBuilder().Build();
        return JsonSerializer.Serialize(DaemonConfiguration.Effective(configuration), DaemonJsonContext.Default.EffectiveConfiguration);
    }

    /// <summary>(section, key) of every setting the daemon binds: the properties of EffectiveConfiguration's sections.</summary>
    private static IEnumerable<(string Section, string Key)> Settings() =>
        typeof(EffectiveConfiguration).GetProperties()
            .SelectMany(section => section.PropertyType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanWrite)
                .Select(p => (section.Name, p.Name)));

    private static bool MentionsTimeout(string zshEntry, string option) =>
        option == "--timeout" && zshEntry.Contains("$timeout", StringComparison.Ordinal);

    private static Dictionary<string, SortedSet<string>> ReadLpctlCommands()
    {
        var root = Lpctl.CreateRootCommand(new LpctlConsole(TextWriter.Null, TextWriter.Null, TimeZoneInfo.Utc));
        return root.Subcommands.ToDictionary(
            c => c.Name,
            c => new SortedSet<string>(
                c.Options.Where(o => !o.Hidden && o.Name != "--help").SelectMany(o => o.Aliases.Prepend(o.Name)),
                StringComparer.Ordinal),
            StringComparer.Ordinal);
    }

    /// <summary>The option as pandoc markdown spells it: a leading "--" is written "\--" so it stays two dashes.</summary>
    private static string ManOption(string option) => option.StartsWith("--", StringComparison.Ordinal) ? "\\" + option : option;

    private static IEnumerable<int> ConstantsOf(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int))
            .Select(f => (int)f.GetRawConstantValue()!);

    /// <summary>The text of a man page section, from its heading to the next heading of the same level.</summary>
    private static string Section(string page, string heading, string level = "#")
    {
        var start = page.IndexOf($"\n{level} {heading}\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section '{level} {heading}'");
        var end = page.IndexOf($"\n{level} ", start + heading.Length + 2, StringComparison.Ordinal);
        return end < 0 ? page[start..] : page[start..end];
    }

    private static string Line(string text, string containing) =>
        text.Split('\n').FirstOrDefault(l => l.Contains(containing, StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"no line containing \"{containing}\"");

    private static string Read(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "LivePatchAgent.sln")))
            {
                return File.ReadAllText(candidate);
            }
        }

        throw new FileNotFoundException($"{relative} not found in the repository above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"local commands=""(?<names>[a-z ]+)""")]
    private static partial Regex BashCommands();

    [GeneratedRegex(@"^\s+'(?<name>[a-z]+):[^']+'$", RegexOptions.Multiline)]
    private static partial Regex ZshCommands();

    // "  --socket <socket>  The gRPC Unix socket ..." in livepatchd --help.
    [GeneratedRegex(@"^\s+(?:-\S+, )*(?<name>--[a-z-]+)", RegexOptions.Multiline)]
    private static partial Regex DaemonHelpOption();

    // A commented-out setting line of the example config: "  // "Key": ..." or "  // }," (not a prose comment).
    [GeneratedRegex(@"(?m)^(\s*)//\s?(\s*[""}])")]
    private static partial Regex DisabledSetting();
}

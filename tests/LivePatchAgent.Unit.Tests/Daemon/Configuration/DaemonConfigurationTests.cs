using LivePatchAgent.Daemon;
using LivePatchAgent.Daemon.Configuration;

namespace LivePatchAgent.Unit.Tests.Daemon.Configuration;

public sealed class DaemonConfigurationTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("lpa-config-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string ConfigFile(string json)
    {
        var path = Path.Combine(_dir.FullName, "livepatchd.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static IReadOnlyList<string> Validate(string file, params (string Key, string Value)[] overrides) =>
        DaemonConfiguration.Validate(DaemonConfiguration.Build(file, overrides.ToDictionary(o => o.Key, o => (string?)o.Value)));

    [Fact]
    public void Defaults_are_valid_and_match_the_design()
    {
        var config = DaemonConfiguration.Build(ConfigFile("{}"), new Dictionary<string, string?>());

        Assert.Empty(DaemonConfiguration.Validate(config));
        var effective = DaemonConfiguration.Effective(config);
        Assert.Equal("/run/livepatchd/livepatchd.sock", effective.Api.SocketPath);
        Assert.Equal("/var/lib/livepatchd", effective.Paths.StateDir);
        Assert.Equal("/", effective.Paths.HostRoot);
        Assert.Equal(TimeSpan.FromSeconds(1), effective.Watch.IdleInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(100), effective.Watch.TransitionInterval);
        Assert.True(effective.DBus.Enabled);
    }

    [Fact]
    public void The_command_line_wins_over_the_file()
    {
        var file = ConfigFile("""{ "Watch": { "IdleInterval": "00:00:05" } }""");

        var effective = DaemonConfiguration.Effective(DaemonConfiguration.Build(file, new Dictionary<string, string?> { ["Watch:IdleInterval"] = "00:00:02" }));

        Assert.Equal(TimeSpan.FromSeconds(2), effective.Watch.IdleInterval);
    }

    [Theory]
    [InlineData("Watch:IdleInterval", "soon", "Watch:IdleInterval: cannot use \"soon\" as a duration")]
    [InlineData("Watch:IdleInterval", "00:00:00.001", "Watch:IdleInterval: must be between")]
    [InlineData("Watch:TransitionInterval", "02:00:00", "Watch:TransitionInterval: must be between")]
    [InlineData("Api:SocketMode", "0999", "Api:SocketMode: must be an octal file mode")]
    [InlineData("Api:SocketPath", "relative.sock", "Api:SocketPath: must be an absolute path")]
    [InlineData("Api:WatchBufferSize", "3", "Api:WatchBufferSize")]
    [InlineData("Paths:StateDir", "var/lib", "Paths:StateDir: must be an absolute path")]
    [InlineData("DBus:Enabled", "perhaps", "DBus:Enabled: cannot use \"perhaps\" as true or false")]
    [InlineData("DBus:Address", "not an address", "DBus:Address: must be a D-Bus address")]
    [InlineData("Watch:IdleIntervall", "00:00:01", "Watch: unknown setting(s) 'IdleIntervall'")]
    [InlineData("Wtach:IdleInterval", "00:00:01", "Wtach: unknown section")]
    [InlineData("Access:AdminGroup", "admins:x", "Access:AdminGroup: must be a group name")]
    [InlineData("Access:AdminGroup", " admins", "Access:AdminGroup: must be a group name")]
    public void A_bad_value_names_the_key_and_the_problem(string key, string value, string expected)
    {
        var errors = Validate(ConfigFile("{}"), (key, value));

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("livepatch-admin")]
    [InlineData("lpadmins@corp.example.com")] // sssd with use_fully_qualified_names
    [InlineData("CORP\\Livepatch Admins")] // winbind
    [InlineData("")]
    public void A_directory_group_name_is_accepted(string group) =>
        Assert.Empty(Validate(ConfigFile("{}"), ("Access:AdminGroup", group)));

    [Fact]
    public void A_missing_explicit_config_file_is_an_error()
    {
        var e = Assert.Throws<ConfigurationException>(() => DaemonConfiguration.Build(Path.Combine(_dir.FullName, "nope.json"), new Dictionary<string, string?>()));

        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_json_names_the_file_and_the_position()
    {
        var e = Assert.Throws<ConfigurationException>(() => DaemonConfiguration.Build(ConfigFile("{ \"Watch\": "), new Dictionary<string, string?>()));

        Assert.Contains("is not valid JSON", e.Message, StringComparison.Ordinal);
        Assert.Contains("LineNumber", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_configuration_exits_78_with_one_line_per_problem()
    {
        var error = new StringWriter();

        var exit = await DaemonProgram.RunAsync(["--config", ConfigFile("{}"), "Watch:IdleInterval=never"], TextWriter.Null, error);

        Assert.Equal(78, exit);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("livepatchd: invalid configuration: Watch:IdleInterval", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_show_prints_the_effective_configuration()
    {
        var output = new StringWriter();

        var exit = await DaemonProgram.RunAsync(["config", "show", "--config", ConfigFile("{}"), "--socket", "/tmp/x.sock", "--no-dbus", "Watch:IdleInterval=00:00:03"], output, TextWriter.Null);

        Assert.Equal(0, exit);
        using var json = System.Text.Json.JsonDocument.Parse(output.ToString());
        Assert.Equal("/tmp/x.sock", json.RootElement.GetProperty("Api").GetProperty("SocketPath").GetString());
        Assert.False(json.RootElement.GetProperty("DBus").GetProperty("Enabled").GetBoolean());
        Assert.Equal("00:00:03", json.RootElement.GetProperty("Watch").GetProperty("IdleInterval").GetString());
    }

    [Theory]
    [InlineData("--bogus", "unknown option \"--bogus\"")]
    [InlineData("IdleInterval=1", "is not a setting of the form Section:Key=value")]
    [InlineData("--socket", "Required argument missing")]
    public async Task Usage_errors_exit_64(string argument, string message)
    {
        var error = new StringWriter();

        var exit = await DaemonProgram.RunAsync([argument], TextWriter.Null, error);

        Assert.Equal(64, exit);
        Assert.Contains(message, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_exits_0_and_lists_the_flags()
    {
        var output = new StringWriter();

        var exit = await DaemonProgram.RunAsync(["--help"], output, TextWriter.Null);

        Assert.Equal(0, exit);
        foreach (var flag in new[] { "--config", "--socket", "--host-root", "--state-dir", "--no-dbus" })
        {
            Assert.Contains(flag, output.ToString(), StringComparison.Ordinal);
        }
    }
}

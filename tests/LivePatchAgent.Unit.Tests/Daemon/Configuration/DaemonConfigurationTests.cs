using System.Reflection;
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
        Assert.Equal("/usr/lib/livepatchd/patches", effective.Paths.VendorStoreDir);
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
    [InlineData("Paths:VendorStoreDir", "usr/lib/livepatchd/patches", "Paths:VendorStoreDir: must be an absolute path")]
    [InlineData("DBus:Enabled", "perhaps", "DBus:Enabled: cannot use \"perhaps\" as true or false")]
    [InlineData("DBus:Address", "not an address", "DBus:Address: must be a D-Bus address")]
    [InlineData("Watch:IdleIntervall", "00:00:01", "Watch: unknown setting(s) 'IdleIntervall'")]
    [InlineData("Wtach:IdleInterval", "00:00:01", "Wtach: unknown section")]
    [InlineData("Access:AdminGroup", "admins:x", "Access:AdminGroup: must be a group name")]
    [InlineData("Access:AdminGroup", " admins", "Access:AdminGroup: must be a group name")]
    [InlineData("Api:WatchBufferSize", "lots", "Api:WatchBufferSize: cannot use \"lots\" as an integer")]
    [InlineData("Api:WatchBufferSize", "70000", "Api:WatchBufferSize: must be between 16 and 65536")]
    [InlineData("Limits:MaxModuleSize", "1e9", "Limits:MaxModuleSize: cannot use \"1e9\" as an integer")]
    [InlineData("Transitions:OnStall", "reboot", "Transitions:OnStall: cannot use \"reboot\" as one of revert, force, none")]
    [InlineData("Transitions:OnStall", "1", "Transitions:OnStall: cannot use \"1\" as one of revert, force, none")]
    [InlineData("Watch:IdleInterval", "", "Watch:IdleInterval: cannot use \"\" as a duration")]
    [InlineData("Transitions:ResolveAfter", "00:00:10", "Transitions:ResolveAfter: must not be shorter than StallAfter")]
    [InlineData("Watch:IdleInterval:Seconds", "1", "Watch:IdleInterval: must be a single value (a duration")]
    public void A_bad_value_names_the_key_and_the_problem(string key, string value, string expected)
    {
        var errors = Validate(ConfigFile("{}"), (key, value));

        var error = Assert.Single(errors);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_settings_are_listed_together_with_the_known_ones()
    {
        var errors = Validate(ConfigFile("""{ "Watch": { "Idle": "00:00:01", "Transition": "00:00:01" } }"""));

        Assert.Equal("Watch: unknown setting(s) 'Idle', 'Transition' (known: IdleInterval, TransitionInterval)", Assert.Single(errors));
    }

    [Fact]
    public void Keys_match_whatever_their_case_as_the_binder_does()
    {
        Assert.Empty(Validate(ConfigFile("""{ "watch": { "idleinterval": "00:00:02" }, "DBUS": { "ENABLED": "False" } }""")));
    }

    [Fact]
    public void Every_problem_of_every_section_gets_its_own_line()
    {
        var errors = Validate(ConfigFile("{}"), ("Watch:IdleInterval", "soon"), ("Api:SocketPath", "x.sock"), ("Journal:KeepFiles", "0"), ("Bogus:Key", "1"));

        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Watch:IdleInterval: cannot use", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Api:SocketPath: must be an absolute path", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Journal:KeepFiles: must be between 1 and 1000", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Bogus: unknown section", StringComparison.Ordinal));
    }

    public static TheoryData<string> SectionNames() => [.. DaemonConfiguration.Sections.Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(SectionNames))]
    public void Each_section_table_lists_exactly_the_properties_of_its_options_class(string name)
    {
        var section = DaemonConfiguration.Sections.Single(s => s.Name == name);
        var properties = section.OptionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .ToDictionary(p => p.Name, p => p.PropertyType);

        Assert.Equal(properties.Keys.Order(), section.Settings.Select(s => s.Key).Order());
        Assert.All(section.Settings, s => Assert.Equal(properties[s.Key], s.Type));
        Assert.Equal(name, section.OptionsType.GetField("SectionName")!.GetValue(null));
    }

    // Values each kind of setting is given; for every one the binder and the Setting must agree, except where the
    // Setting is stricter on purpose (below).
    [Theory]
    [InlineData("Watch:IdleInterval", "00:00:02")]
    [InlineData("Watch:IdleInterval", "1.00:00:00")]
    [InlineData("Watch:IdleInterval", " 00:00:02 ")]
    [InlineData("Watch:IdleInterval", "2")]
    [InlineData("Watch:IdleInterval", "00:00:02.5")]
    [InlineData("Watch:IdleInterval", "2s")]
    [InlineData("Watch:IdleInterval", "")]
    [InlineData("Watch:IdleInterval", "00:61:00")]
    [InlineData("Api:WatchBufferSize", "256")]
    [InlineData("Api:WatchBufferSize", " 256 ")]
    [InlineData("Api:WatchBufferSize", "+256")]
    [InlineData("Api:WatchBufferSize", "0x100")]
    [InlineData("Api:WatchBufferSize", "256.0")]
    [InlineData("Api:WatchBufferSize", "1,024")]
    [InlineData("Api:WatchBufferSize", "99999999999")]
    [InlineData("Api:WatchBufferSize", "")]
    [InlineData("Limits:MaxModuleSize", "67108864")]
    [InlineData("Limits:MaxModuleSize", "99999999999999999999")]
    [InlineData("DBus:Enabled", "true")]
    [InlineData("DBus:Enabled", "False")]
    [InlineData("DBus:Enabled", " TRUE ")]
    [InlineData("DBus:Enabled", "1")]
    [InlineData("DBus:Enabled", "yes")]
    [InlineData("DBus:Enabled", "")]
    [InlineData("Transitions:OnStall", "force")]
    [InlineData("Transitions:OnStall", "NONE")]
    [InlineData("Transitions:OnStall", " revert ")]
    [InlineData("Transitions:OnStall", "reboot")]
    [InlineData("Transitions:OnStall", "")]
    public void A_setting_accepts_a_value_exactly_when_the_binder_does(string key, string value)
    {
        var configuration = DaemonConfiguration.Build(ConfigFile("{}"), new Dictionary<string, string?> { [key] = value });
        var sectionName = key[..key.IndexOf(':', StringComparison.Ordinal)];
        var setting = DaemonConfiguration.Sections.Single(s => s.Name == sectionName).Settings.Single(s => key.EndsWith(":" + s.Key, StringComparison.Ordinal));
        var binderAccepts = true;
        try
        {
            DaemonConfiguration.Effective(configuration);
        }
        catch (InvalidOperationException)
        {
            binderAccepts = false;
        }

        // Stricter on purpose: the binder skips an empty value of a non-text setting (the default silently stays)
        // and takes an enum as a number.
        if (binderAccepts && !setting.Accepts(value) && (value.Trim().Length == 0 || setting.Type.IsEnum))
        {
            return;
        }

        Assert.Equal(binderAccepts, setting.Accepts(value));
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

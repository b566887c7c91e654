using System.Text.Json;
using LivePatchAgent.Core.Transitions;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>
/// Builds and checks the daemon's configuration. Layers, lowest first: the defaults in the options types, the
/// config file, LIVEPATCHD_ environment variables (LIVEPATCHD_Watch__IdleInterval=00:00:02), then the command
/// line. The check runs before anything starts, so a bad value costs one clear line and exit code 78.
/// </summary>
internal static class DaemonConfiguration
{
    public const string DefaultConfigFile = "/etc/livepatchd/livepatchd.json";
    public const string EnvironmentPrefix = "LIVEPATCHD_";

    /// <summary>
    /// Every options section with its keys and validator. A unit test holds each table
    /// equal to the public properties of its options class.
    /// </summary>
    public static readonly IReadOnlyList<OptionsSection> Sections =
    [
        OptionsSection.For(PathsOptions.SectionName, s => s.Get<PathsOptions>(), new PathsOptionsValidator(),
            Setting.Text(nameof(PathsOptions.HostRoot)), Setting.Text(nameof(PathsOptions.StateDir)),
            Setting.Text(nameof(PathsOptions.VendorStoreDir))),
        OptionsSection.For(ApiOptions.SectionName, s => s.Get<ApiOptions>(), new ApiOptionsValidator(),
            Setting.Text(nameof(ApiOptions.SocketPath)), Setting.Text(nameof(ApiOptions.SocketMode)), Setting.Int32(nameof(ApiOptions.WatchBufferSize))),
        OptionsSection.For(WatchOptions.SectionName, s => s.Get<WatchOptions>(), new WatchOptionsValidator(),
            Setting.Duration(nameof(WatchOptions.IdleInterval)), Setting.Duration(nameof(WatchOptions.TransitionInterval))),
        OptionsSection.For(DBusOptions.SectionName, s => s.Get<DBusOptions>(), new DBusOptionsValidator(),
            Setting.Flag(nameof(DBusOptions.Enabled)), Setting.Text(nameof(DBusOptions.Address))),
        OptionsSection.For(VerificationOptions.SectionName, s => s.Get<VerificationOptions>(), new VerificationOptionsValidator(),
            Setting.Text(nameof(VerificationOptions.TrustedCertificatesDir)), Setting.Flag(nameof(VerificationOptions.RequireSignature)),
            Setting.Text(nameof(VerificationOptions.TargetBuildId))),
        OptionsSection.For(LimitsOptions.SectionName, s => s.Get<LimitsOptions>(), new LimitsOptionsValidator(),
            Setting.Int64(nameof(LimitsOptions.MaxModuleSize)), Setting.Duration(nameof(LimitsOptions.OperationTimeout)),
            Setting.Int32(nameof(LimitsOptions.MaxConnections)), Setting.Int32(nameof(LimitsOptions.MaxConnectionsPerUid)),
            Setting.Int32(nameof(LimitsOptions.MaxWatchStreamsPerUid)), Setting.Duration(nameof(LimitsOptions.RequestTimeout))),
        OptionsSection.For(TransitionsOptions.SectionName, s => s.Get<TransitionsOptions>(), new TransitionsOrderValidator(),
            Setting.Duration(nameof(TransitionsOptions.StallAfter)), Setting.Flag(nameof(TransitionsOptions.KickBlockedTasks)),
            Setting.Duration(nameof(TransitionsOptions.KickAfter)), Setting.Duration(nameof(TransitionsOptions.ResolveAfter)),
            Setting.Choice<OnStall>(nameof(TransitionsOptions.OnStall)), Setting.Duration(nameof(TransitionsOptions.RescanInterval))),
        OptionsSection.For(AccessOptions.SectionName, s => s.Get<AccessOptions>(), new AccessOptionsValidator(),
            Setting.Text(nameof(AccessOptions.AdminGroup))),
        OptionsSection.For(ApplyOptions.SectionName, s => s.Get<ApplyOptions>(), new ApplyOptionsValidator(),
            Setting.Flag(nameof(ApplyOptions.AtStartup)), Setting.Flag(nameof(ApplyOptions.CleanupLeftovers))),
        OptionsSection.For(JournalOptions.SectionName, s => s.Get<JournalOptions>(), new JournalOptionsValidator(),
            Setting.Int64(nameof(JournalOptions.MaxFileSize)), Setting.Int32(nameof(JournalOptions.KeepFiles))),
        OptionsSection.For(PostureOptions.SectionName, s => s.Get<PostureOptions>(), new PostureOptionsValidator(),
            Setting.Text(nameof(PostureOptions.AdvisoriesDir)), Setting.Duration(nameof(PostureOptions.RescanInterval)),
            Setting.Int64(nameof(PostureOptions.MaxFileBytes))),
        OptionsSection.For(CheckOptions.SectionName, s => s.Get<CheckOptions>(), new CheckOptionsValidator(),
            Setting.Choice<CheckSeverity>(nameof(CheckOptions.FailOnSeverity))),
        OptionsSection.For(MetricsOptions.SectionName, s => s.Get<MetricsOptions>(), new MetricsOptionsValidator(),
            Setting.Flag(nameof(MetricsOptions.Enabled)), Setting.Text(nameof(MetricsOptions.TextfileDir)),
            Setting.Duration(nameof(MetricsOptions.RefreshInterval)), Setting.Duration(nameof(MetricsOptions.CoalesceWindow))),
        OptionsSection.For(HealthOptions.SectionName, s => s.Get<HealthOptions>(), new HealthOptionsValidator(),
            Setting.Flag(nameof(HealthOptions.Enabled)), Setting.Duration(nameof(HealthOptions.Window)),
            Setting.Choice<Core.Health.HealthAction>(nameof(HealthOptions.OnKernelWarning)), Setting.Choice<Core.Health.HealthAction>(nameof(HealthOptions.OnKernelBug)),
            Setting.Int32(nameof(HealthOptions.MaxReportsPerMinute))),
    ];

    /// <summary>Top-level sections the daemon reads (Logging is the framework's own); anything else is almost certainly a typo.</summary>
    public static readonly IReadOnlyList<string> KnownSections = [.. Sections.Select(s => s.Name), "Logging"];

    /// <summary>Assembles the layers. Throws <see cref="ConfigurationException"/> for an unusable file.</summary>
    public static IConfigurationRoot Build(string? configFile, IReadOnlyDictionary<string, string?> overrides)
    {
        var explicitFile = configFile is not null;
        var path = Path.GetFullPath(configFile ?? DefaultConfigFile);
        if (explicitFile && !File.Exists(path))
        {
            throw new ConfigurationException($"config file {path} does not exist");
        }

        var builder = new ConfigurationBuilder();
        if (File.Exists(path))
        {
            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }

        builder.AddEnvironmentVariables(EnvironmentPrefix);
        builder.AddInMemoryCollection(overrides);
        try
        {
            return builder.Build();
        }
        catch (InvalidDataException e)
        {
            var detail = e.Message;
            for (Exception? inner = e; inner is not null; inner = inner.InnerException)
            {
                if (inner is JsonException json)
                {
                    detail = json.Message;
                    break;
                }
            }

            throw new ConfigurationException($"config file {path} is not valid JSON: {detail}", e);
        }
        catch (IOException e)
        {
            throw new ConfigurationException($"cannot read config file {path}: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ConfigurationException($"cannot read config file {path}: {e.Message}", e);
        }
    }

    /// <summary>Checks every section; returns one line per problem, naming the key (<see cref="OptionsSection.Check"/>).</summary>
    public static IReadOnlyList<string> Validate(IConfiguration configuration)
    {
        var errors = new List<string>();
        foreach (var section in configuration.GetChildren())
        {
            if (!KnownSections.Contains(section.Key, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"{section.Key}: unknown section (known: {string.Join(", ", KnownSections)})");
            }
        }

        foreach (var section in Sections)
        {
            section.Check(configuration, errors);
        }

        return errors;
    }

    /// <summary>The effective settings, as `livepatchd config show` prints them.</summary>
    public static EffectiveConfiguration Effective(IConfiguration configuration) => new()
    {
        Paths = configuration.GetSection(PathsOptions.SectionName).Get<PathsOptions>() ?? new(),
        Api = configuration.GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new(),
        Watch = configuration.GetSection(WatchOptions.SectionName).Get<WatchOptions>() ?? new(),
        DBus = configuration.GetSection(DBusOptions.SectionName).Get<DBusOptions>() ?? new(),
        Verification = configuration.GetSection(VerificationOptions.SectionName).Get<VerificationOptions>() ?? new(),
        Limits = configuration.GetSection(LimitsOptions.SectionName).Get<LimitsOptions>() ?? new(),
        Transitions = configuration.GetSection(TransitionsOptions.SectionName).Get<TransitionsOptions>() ?? new(),
        Access = configuration.GetSection(AccessOptions.SectionName).Get<AccessOptions>() ?? new(),
        Apply = configuration.GetSection(ApplyOptions.SectionName).Get<ApplyOptions>() ?? new(),
        Journal = configuration.GetSection(JournalOptions.SectionName).Get<JournalOptions>() ?? new(),
        Posture = configuration.GetSection(PostureOptions.SectionName).Get<PostureOptions>() ?? new(),
        Check = configuration.GetSection(CheckOptions.SectionName).Get<CheckOptions>() ?? new(),
        Metrics = configuration.GetSection(MetricsOptions.SectionName).Get<MetricsOptions>() ?? new(),
    };

    /// <summary>The host binds strictly too, so a host started without <see cref="Validate"/> (tests) still refuses typos.</summary>
    public static void Strict(BinderOptions options) => options.ErrorOnUnknownConfiguration = true;
}

/// <summary>A configuration the daemon cannot use; exit code 78 (EX_CONFIG).</summary>
internal sealed class ConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Every section with its effective values.</summary>
internal sealed class EffectiveConfiguration
{
    public required PathsOptions Paths { get; init; }

    public required ApiOptions Api { get; init; }

    public required WatchOptions Watch { get; init; }

    public required DBusOptions DBus { get; init; }

    public required VerificationOptions Verification { get; init; }

    public required LimitsOptions Limits { get; init; }

    public required TransitionsOptions Transitions { get; init; }

    public required AccessOptions Access { get; init; }

    public required ApplyOptions Apply { get; init; }

    public required JournalOptions Journal { get; init; }

    public required PostureOptions Posture { get; init; }

    public required CheckOptions Check { get; init; }

    public required MetricsOptions Metrics { get; init; }
}

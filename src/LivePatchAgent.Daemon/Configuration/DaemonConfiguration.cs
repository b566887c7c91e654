using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>
/// Builds and checks the daemon's configuration. Layers, lowest first: the defaults in the options types, the
/// config file, LIVEPATCHD_ environment variables (LIVEPATCHD_Watch__IdleInterval=00:00:02), then the command
/// line. The check runs before anything starts, so a bad value costs one clear line and exit code 78.
/// </summary>
internal static partial class DaemonConfiguration
{
    public const string DefaultConfigFile = "/etc/livepatchd/livepatchd.json";
    public const string EnvironmentPrefix = "LIVEPATCHD_";

    /// <summary>Top-level sections the daemon reads; anything else is almost certainly a typo.</summary>
    public static readonly IReadOnlyList<string> KnownSections =
        [PathsOptions.SectionName, ApiOptions.SectionName, WatchOptions.SectionName, DBusOptions.SectionName, VerificationOptions.SectionName, LimitsOptions.SectionName, TransitionsOptions.SectionName, AccessOptions.SectionName, ApplyOptions.SectionName, JournalOptions.SectionName, "Logging"];

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

    /// <summary>Binds and validates every section; returns one line per problem, naming the key.</summary>
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

        // Each section is bound twice: strictly, to find unknown keys, then leniently, to find bad values too.
        Check(configuration, PathsOptions.SectionName, s => s.Get<PathsOptions>(Strict), s => s.Get<PathsOptions>(), new PathsOptionsValidator(), errors);
        Check(configuration, ApiOptions.SectionName, s => s.Get<ApiOptions>(Strict), s => s.Get<ApiOptions>(), new ApiOptionsValidator(), errors);
        Check(configuration, WatchOptions.SectionName, s => s.Get<WatchOptions>(Strict), s => s.Get<WatchOptions>(), new WatchOptionsValidator(), errors);
        Check(configuration, DBusOptions.SectionName, s => s.Get<DBusOptions>(Strict), s => s.Get<DBusOptions>(), new DBusOptionsValidator(), errors);
        Check(configuration, VerificationOptions.SectionName, s => s.Get<VerificationOptions>(Strict), s => s.Get<VerificationOptions>(), new VerificationOptionsValidator(), errors);
        Check(configuration, LimitsOptions.SectionName, s => s.Get<LimitsOptions>(Strict), s => s.Get<LimitsOptions>(), new LimitsOptionsValidator(), errors);
        Check(configuration, AccessOptions.SectionName, s => s.Get<AccessOptions>(Strict), s => s.Get<AccessOptions>(), new AccessOptionsValidator(), errors);
        Check(configuration, TransitionsOptions.SectionName, s => s.Get<TransitionsOptions>(Strict), s => s.Get<TransitionsOptions>(), new TransitionsOrderValidator(), errors);
        Check(configuration, ApplyOptions.SectionName, s => s.Get<ApplyOptions>(Strict), s => s.Get<ApplyOptions>(), new ApplyOptionsValidator(), errors);
        Check(configuration, JournalOptions.SectionName, s => s.Get<JournalOptions>(Strict), s => s.Get<JournalOptions>(), new JournalOptionsValidator(), errors);
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
    };

    public static void Strict(BinderOptions options) => options.ErrorOnUnknownConfiguration = true;

    private static void Check<T>(
        IConfiguration configuration, string name, Func<IConfigurationSection, T?> strict, Func<IConfigurationSection, T?> lenient,
        IValidateOptions<T> validator, List<string> errors)
        where T : class, new()
    {
        var section = configuration.GetSection(name);
        try
        {
            strict(section);
        }
        catch (InvalidOperationException e) when (UnknownError().IsMatch(e.Message))
        {
            errors.Add(DescribeBindError(name, e));
        }
        catch (InvalidOperationException)
        {
            // A bad value; the lenient bind below reports it.
        }

        T options;
        try
        {
            options = lenient(section) ?? new T();
        }
        catch (InvalidOperationException e)
        {
            errors.Add(DescribeBindError(name, e));
            return;
        }

        var result = validator.Validate(null, options);
        if (result.Failed)
        {
            errors.AddRange(result.Failures!.Select(f => DescribeValidationFailure(name, f)));
        }
    }

    private static string DescribeBindError(string section, InvalidOperationException e)
    {
        // "Failed to convert configuration value '...' at 'Watch:IdleInterval' to type 'System.TimeSpan'."
        var convert = ConvertError().Match(e.Message);
        if (convert.Success)
        {
            return $"{convert.Groups["key"].Value}: cannot use \"{convert.Groups["value"].Value}\" as {Friendly(convert.Groups["type"].Value)}";
        }

        // "'ErrorOnUnknownConfiguration' was set ... properties were not found on the instance of ...: 'X', 'Y'"
        var unknown = UnknownError().Match(e.Message);
        if (unknown.Success)
        {
            return $"{section}: unknown setting(s) {unknown.Groups["names"].Value}";
        }

        return $"{section}: {e.Message}";
    }

    private static string DescribeValidationFailure(string section, string failure)
    {
        // "DataAnnotation validation failed for 'ApiOptions' members: 'SocketMode' with the error: '...'."
        var m = ValidationError().Match(failure);
        if (m.Success)
        {
            return $"{section}:{m.Groups["member"].Value}: {m.Groups["error"].Value}";
        }

        // Custom messages come as "Member: message".
        var colon = failure.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && !failure[..colon].Contains(' ', StringComparison.Ordinal)
            ? $"{section}:{failure}"
            : $"{section}: {failure}";
    }

    private static string Friendly(string type) => type switch
    {
        "System.TimeSpan" => "a duration (hh:mm:ss[.fff], e.g. 00:00:01)",
        "System.Int32" => "an integer",
        "System.Boolean" => "true or false",
        _ => type,
    };

    [GeneratedRegex("value '(?<value>.*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex ConvertError();

    [GeneratedRegex("were not found on the instance of [^:]+: (?<names>.+)$", RegexOptions.Singleline)]
    private static partial Regex UnknownError();

    [GeneratedRegex("members: '(?<member>[^']+)' with the error: '(?<error>.*)'\\.?$", RegexOptions.Singleline)]
    private static partial Regex ValidationError();
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
}

using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace LivePatchAgent.Cli.Commands;

/// <summary>Options several commands share, with their parsing and usage messages.</summary>
internal static class OptionParsers
{
    /// <summary>The longest operation timeout livepatchd accepts (its range is (0 s, 1 h]).</summary>
    public const double MaxOperationTimeoutSeconds = 3600;

    /// <summary>
    /// <c>--timeout SECONDS</c> for a load or unload: how long the daemon waits for the kernel's transition (and
    /// retries a busy kernel). Unset means the daemon's own default (Limits:OperationTimeout, 60 s).
    /// </summary>
    public static Option<double?> OperationTimeout(string description) => new("--timeout")
    {
        Description = description,
        HelpName = "SECONDS",
        CustomParser = result => ParseOrReport<double>(result, "--timeout",
            "a number of seconds greater than 0 and at most 3600",
            static text => double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var s)
                && s > 0 && s <= MaxOperationTimeoutSeconds
                ? s
                : null),
    };

    /// <summary>
    /// <c>--since WHEN</c>: a time (ISO 8601, e.g. 2026-11-28T14:00:00Z or "2026-11-28 14:00", local time when no
    /// offset is given) or an age counted back from now: 90s, 30m, 2h, 7d.
    /// </summary>
    public static Option<DateTimeOffset?> Since(string description, TimeProvider? clock = null) => new("--since")
    {
        Description = description,
        HelpName = "WHEN",
        CustomParser = result => ParseOrReport<DateTimeOffset>(result, "--since",
            "a time such as 2026-11-28T14:00:00Z or an age such as 30m, 2h or 7d",
            text => ParseSince(text, (clock ?? TimeProvider.System).GetUtcNow())),
    };

    internal static DateTimeOffset? ParseSince(string text, DateTimeOffset now)
    {
        if (text.Length >= 2 && char.IsAsciiDigit(text[0]) && "smhdw".Contains(text[^1], StringComparison.Ordinal)
            && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
            && amount <= 100 * 365 * 24 * 3600L)
        {
            var age = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => TimeSpan.FromDays(7 * amount),
            };
            return age < TimeSpan.FromDays(100 * 365) ? now - age : null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal | DateTimeStyles.AllowWhiteSpaces, out var time)
            ? time
            : null;
    }

    /// <summary>A non-empty name argument (a patch or module name).</summary>
    public static Argument<string> Name(string description)
    {
        var argument = new Argument<string>("NAME") { Description = description };
        argument.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
            {
                result.AddError("the patch name is empty");
            }
        });
        return argument;
    }

    /// <summary>
    /// Parses one option value, or reports a usage error naming the option and what it needs. A custom parser
    /// rather than a validator: validators also run when the built-in conversion failed, and reading the value
    /// then throws instead of reporting a usage error.
    /// </summary>
    public static T? ParseOrReport<T>(ArgumentResult result, string option, string expected, Func<string, T?> parse)
        where T : struct
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(parse);
        if (result.Tokens.Count == 0)
        {
            return null;
        }

        var text = result.Tokens[0].Value;
        if (parse(text) is { } value)
        {
            return value;
        }

        result.AddError($"{option} needs {expected}, not \"{text}\"");
        return null;
    }
}

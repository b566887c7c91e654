using System.Globalization;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>
/// One key of an options section: its name (the property's), its type, and what a value must look like. The check
/// runs before the configuration binder sees the value, with the same parse the binder uses (invariant culture), so
/// a bad value is reported by key and type instead of by the binder's exception text.
/// </summary>
internal sealed class Setting
{
    private readonly Func<string, bool> _accepts;

    private Setting(string key, Type type, string expected, Func<string, bool> accepts)
    {
        Key = key;
        Type = type;
        Expected = expected;
        _accepts = accepts;
    }

    public string Key { get; }

    /// <summary>The property type; a unit test holds it equal to the options class's.</summary>
    public Type Type { get; }

    /// <summary>What a value must be, for the error line: "a duration (...)", "true or false".</summary>
    public string Expected { get; }

    public bool Accepts(string value) => _accepts(value);

    public static Setting Text(string key) => new(key, typeof(string), "text", _ => true);

    public static Setting Flag(string key) => new(key, typeof(bool), "true or false", v => bool.TryParse(v, out _));

    public static Setting Int32(string key) => new(key, typeof(int), "an integer",
        v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));

    public static Setting Int64(string key) => new(key, typeof(long), "an integer",
        v => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));

    public static Setting Duration(string key) => new(key, typeof(TimeSpan), "a duration (hh:mm:ss[.fff], e.g. 00:00:01)",
        v => TimeSpan.TryParse(v, CultureInfo.InvariantCulture, out _));

    /// <summary>One of the enum's names, any case. Numbers are refused, though the binder would take them.</summary>
    public static Setting Choice<TEnum>(string key)
        where TEnum : struct, Enum
    {
        var names = Enum.GetNames<TEnum>();
        return new(key, typeof(TEnum), "one of " + string.Join(", ", names.Select(n => n.ToLowerInvariant())),
            v => names.Contains(v.Trim(), StringComparer.OrdinalIgnoreCase));
    }
}

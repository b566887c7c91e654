using System.Collections.Frozen;
using System.Text;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// The fields of <c>/etc/os-release</c> (os-release(5)): shell-style <c>KEY=value</c> lines, values optionally in
/// double quotes (with <c>\"</c>, <c>\\</c>, <c>\$</c>, <c>\`</c> escapes) or single quotes.
/// </summary>
public sealed class OsRelease
{
    private readonly FrozenDictionary<string, string> _values;

    private OsRelease(FrozenDictionary<string, string> values) => _values = values;

    /// <summary>The distribution, lower case: <c>debian</c>, <c>ubuntu</c>, <c>almalinux</c>, <c>rocky</c>, <c>rhel</c>.</summary>
    public string? Id => Get("ID");

    /// <summary>The release: <c>12</c>, <c>22.04</c>, <c>9.3</c>. Debian testing and unstable have none.</summary>
    public string? VersionId => Get("VERSION_ID");

    /// <summary>The release in words, e.g. <c>22.04.4 LTS (Jammy Jellyfish)</c>.</summary>
    public string? Version => Get("VERSION");

    /// <summary>The distributions this one derives from, closest first.</summary>
    public IReadOnlyList<string> IdLike => Get("ID_LIKE")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];

    public string? Get(string key) => _values.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

    public static OsRelease Parse(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (line.Length == 0 || line[0] == '#' || equals <= 0)
            {
                continue;
            }

            values[line[..equals].Trim()] = Unquote(line[(equals + 1)..].Trim());
        }

        return new OsRelease(values.ToFrozenDictionary(StringComparer.Ordinal));
    }

    private static string Unquote(string value)
    {
        if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'')
        {
            return value[1..^1];
        }

        if (value.Length < 2 || value[0] != '"' || value[^1] != '"')
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        for (var i = 1; i < value.Length - 1; i++)
        {
            if (value[i] == '\\' && i + 1 < value.Length - 1 && value[i + 1] is '"' or '\\' or '$' or '`')
            {
                i++;
            }

            builder.Append(value[i]);
        }

        return builder.ToString();
    }
}

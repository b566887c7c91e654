using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Core.Posture;

/// <summary>What one file gave: its advisories, or the problem that made it unreadable (then no advisories).</summary>
public sealed record OsvParseResult(ImmutableArray<OsvAdvisory> Advisories, AdvisoryProblem? Problem)
{
    public bool Succeeded => Problem is null;
}

/// <summary>
/// Parses OSV JSON: one record, or a JSON array of records. <see cref="JsonDocument"/> and a hand-written walk, no
/// serializer: Native AOT needs no reflection, and the walk knows where it is, so a wrong type is reported as
/// "affected[0].ranges[1].events[0].fixed: expected a string, found a number". A file either loads whole or not at
/// all (the first problem skips it), so configuration management can fix it and nothing is half-read. Duplicate
/// property names are refused: two "fixed" values in one event would let the reader and the producer disagree.
/// Unknown properties are ignored, as the schema allows producers to add their own.
/// </summary>
public static class OsvParser
{
    public static OsvParseResult Parse(ReadOnlyMemory<byte> utf8Json, string file, AdvisoryLoadOptions? options = null)
    {
        options ??= AdvisoryLoadOptions.Default;
        if (utf8Json.Span.StartsWith("\uFEFF"u8))
        {
            utf8Json = utf8Json[3..];
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json, new JsonDocumentOptions
            {
                MaxDepth = options.MaxDepth,
                AllowDuplicateProperties = false,
                CommentHandling = JsonCommentHandling.Disallow,
                AllowTrailingCommas = false,
            });
        }
        catch (JsonException e)
        {
            return Failed(file, $"not valid JSON{Position(e)}: {ExceptionText(e)}");
        }

        using (document)
        {
            try
            {
                return new OsvParseResult(new OsvReader(file, options).ReadDocument(document.RootElement), null);
            }
            catch (OsvShapeException e)
            {
                return Failed(file, e.Message);
            }
        }
    }

    private static OsvParseResult Failed(string file, string message) => new([], new AdvisoryProblem(file, message));

    /// <summary>" at line L, byte B" (both 1-based, as editors count) when the exception knows where.</summary>
    private static string Position(JsonException e) =>
        e.LineNumber is { } line
            ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, byte {(e.BytePositionInLine ?? 0) + 1}")
            : "";

    /// <summary>
    /// The reader's reason without the zero-based position it appends, which <see cref="Position"/> already gave in
    /// the form editors use. Should the framework word it differently, the position merely appears twice.
    /// </summary>
    private static string ExceptionText(JsonException e)
    {
        var text = e.Message;
        var at = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (at > 0 ? text[..at] : text).Trim();
    }
}

/// <summary>A record whose JSON is well formed but not the shape OSV defines.</summary>
internal sealed class OsvShapeException(string message) : Exception(message);

/// <summary>
/// The walk over one file's JSON. It keeps the path to the current value so that a problem can say where it is;
/// the path is only turned into text when there is a problem.
/// </summary>
internal sealed class OsvReader(string file, AdvisoryLoadOptions options)
{
    private const int MaxIdLength = 256;

    private readonly List<string> _path = [];
    private string? _advisoryId;

    public ImmutableArray<OsvAdvisory> ReadDocument(JsonElement root)
    {
        switch (root.ValueKind)
        {
            case JsonValueKind.Object:
                return ReadAdvisory(root) is { } single ? [single] : [];
            case JsonValueKind.Array:
                var count = root.GetArrayLength();
                if (count > options.MaxAdvisoriesPerFile)
                {
                    throw new OsvShapeException(string.Create(CultureInfo.InvariantCulture,
                        $"holds {count:N0} advisories, over the limit of {options.MaxAdvisoriesPerFile:N0} per file"));
                }

                var advisories = ImmutableArray.CreateBuilder<OsvAdvisory>(count);
                var index = 0;
                foreach (var element in root.EnumerateArray())
                {
                    _advisoryId = null;
                    _path.Add(Index(index++));
                    if (element.ValueKind != JsonValueKind.Object)
                    {
                        throw Shape($"expected an OSV object, found {Describe(element)}");
                    }

                    if (ReadAdvisory(element) is { } advisory)
                    {
                        advisories.Add(advisory);
                    }

                    _path.RemoveAt(_path.Count - 1);
                }

                return advisories.DrainToImmutable();
            default:
                throw new OsvShapeException($"the top level is {Describe(root)}, not an OSV object or an array of them");
        }
    }

    private OsvAdvisory? ReadAdvisory(JsonElement record)
    {
        _advisoryId = null;
        if (!record.TryGetProperty("id"u8, out var idValue))
        {
            throw Shape("\"id\" is missing (the OSV schema requires it)");
        }

        var id = Enter("id", () => ReadString(idValue));
        if (id.Length == 0 || id.Length > MaxIdLength || id.Any(char.IsWhiteSpace))
        {
            throw Shape($"\"id\" {DisplayText.Quote(id)} is not an advisory id (1 to {MaxIdLength} characters, no spaces)");
        }

        _advisoryId = id;
        ImmutableArray<string> aliases = [], upstream = [], related = [];
        ImmutableArray<OsvAffected> affected = [];
        string? summary = null, details = null;
        DateTimeOffset? modified = null, published = null, withdrawn = null;
        var rating = default(SeverityRating);
        foreach (var property in record.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "aliases":
                    aliases = Enter("aliases", () => ReadStringArray(value));
                    break;
                case "upstream":
                    upstream = Enter("upstream", () => ReadStringArray(value));
                    break;
                case "related":
                    related = Enter("related", () => ReadStringArray(value));
                    break;
                case "summary":
                    summary = Enter("summary", () => ReadOptionalString(value));
                    break;
                case "details":
                    details = Enter("details", () => ReadOptionalString(value));
                    break;
                case "modified":
                    modified = Enter("modified", () => ReadTimestamp(value));
                    break;
                case "published":
                    published = Enter("published", () => ReadTimestamp(value));
                    break;
                case "withdrawn":
                    withdrawn = Enter("withdrawn", () => ReadTimestamp(value));
                    break;
                case "severity":
                    rating = rating.Max(Enter("severity", () => ReadSeverityArray(value)));
                    break;
                case "database_specific":
                    rating = rating.Max(new SeverityRating(Enter("database_specific", () => ReadVendorWords(value)), Severity.Unknown));
                    break;
                case "affected":
                    affected = Enter("affected", () => ReadArray(value, ReadAffected));
                    break;
                default:
                    break;
            }
        }

        if (modified is null)
        {
            throw Shape("\"modified\" is missing (the OSV schema requires it)");
        }

        if (options.KeepPackage is { } keep)
        {
            affected = [.. affected.Where(a => a.Package is { } package && keep(package))];
            if (affected.IsEmpty && withdrawn is null)
            {
                return null;
            }
        }

        return new OsvAdvisory
        {
            Id = id,
            Aliases = aliases,
            Upstream = upstream,
            Related = related,
            Summary = summary,
            Details = details,
            Modified = modified.Value,
            Published = published,
            Withdrawn = withdrawn,
            Rating = rating,
            Affected = affected,
            SourceFile = file,
        };
    }

    private OsvAffected ReadAffected(JsonElement entry)
    {
        RequireObject(entry);
        OsvPackage? package = null;
        ImmutableArray<OsvRange> ranges = [];
        ImmutableArray<string> versions = [];
        var rating = default(SeverityRating);
        foreach (var property in entry.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "package":
                    package = Enter("package", () => ReadPackage(value));
                    break;
                case "ranges":
                    ranges = Enter("ranges", () => ReadArray(value, ReadRange));
                    break;
                case "versions":
                    versions = Enter("versions", () => ReadStringArray(value));
                    break;
                case "severity":
                    rating = rating.Max(Enter("severity", () => ReadSeverityArray(value)));
                    break;
                case "ecosystem_specific":
                    rating = rating.Max(new SeverityRating(Enter("ecosystem_specific", () => ReadVendorWords(value)), Severity.Unknown));
                    break;
                case "database_specific":
                    rating = rating.Max(new SeverityRating(Enter("database_specific", () => ReadVendorWords(value)), Severity.Unknown));
                    break;
                default:
                    break;
            }
        }

        return new OsvAffected(package, ranges, versions, rating);
    }

    private OsvPackage? ReadPackage(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        RequireObject(value);
        return new OsvPackage(
            ReadRequiredString(value, "ecosystem"),
            ReadRequiredString(value, "name"),
            value.TryGetProperty("purl"u8, out var purl) ? Enter("purl", () => ReadOptionalString(purl)) : null);
    }

    private OsvRange ReadRange(JsonElement value)
    {
        RequireObject(value);
        var type = ReadRequiredString(value, "type");
        var eventsValue = RequiredProperty(value, "events");
        var events = Enter("events", () => ReadArray(eventsValue, ReadEvent));
        if (value.TryGetProperty("repo"u8, out var repo))
        {
            Enter("repo", () => ReadOptionalString(repo));
        }

        return new OsvRange(type, events);
    }

    private OsvEvent ReadEvent(JsonElement value)
    {
        RequireObject(value);
        OsvEvent? found = null;
        foreach (var property in value.EnumerateObject())
        {
            OsvEventKind? kind = property.Name switch
            {
                "introduced" => OsvEventKind.Introduced,
                "fixed" => OsvEventKind.Fixed,
                "last_affected" => OsvEventKind.LastAffected,
                "limit" => OsvEventKind.Limit,
                _ => null,
            };
            if (kind is null)
            {
                continue;
            }

            if (found is not null)
            {
                throw Shape($"an event has both \"{Name(found.Value.Kind)}\" and \"{property.Name}\"; it must have exactly one");
            }

            var version = Enter(property.Name, () => ReadString(property.Value));
            if (version.Length == 0)
            {
                throw Shape($"\"{property.Name}\" is an empty version");
            }

            found = new OsvEvent(kind.Value, version);
        }

        return found ?? throw Shape("an event has none of \"introduced\", \"fixed\", \"last_affected\", \"limit\"");
    }

    /// <summary>A <c>severity[]</c> array: CVSS v3 vectors are scored, <c>Ubuntu</c> holds a priority word.</summary>
    private SeverityRating ReadSeverityArray(JsonElement value)
    {
        var vendor = Severity.Unknown;
        var cvss = Severity.Unknown;
        foreach (var (type, score) in ReadArray(value, element =>
                 {
                     RequireObject(element);
                     return (ReadRequiredString(element, "type"), ReadRequiredString(element, "score"));
                 }))
        {
            switch (type)
            {
                case "CVSS_V3":
                    cvss = SeverityScale.Max(cvss, CvssV3.TryBaseScore(score, out var computed) ? SeverityScale.FromScore(computed) : CvssV3.BandOfNumber(score));
                    break;
                case "CVSS_V2" or "CVSS_V4":
                    // A vector is not scored (see CvssV3); a bare number is. v2 bands differ from v3's, but only
                    // a number that a producer put in place of the vector gets here.
                    cvss = SeverityScale.Max(cvss, CvssV3.BandOfNumber(score));
                    break;
                case "Ubuntu":
                    vendor = SeverityScale.Max(vendor, SeverityScale.FromWord(score));
                    break;
                default:
                    break;
            }
        }

        return new SeverityRating(vendor, cvss);
    }

    /// <summary>
    /// The rating words in a producer's free-form object: <c>severity</c> (Red Hat, AlmaLinux, Rocky),
    /// <c>urgency</c> (Debian), <c>ubuntu_priority</c> and <c>priority</c> (Ubuntu). The object must be an object;
    /// its other members are the producer's business and are not looked at.
    /// </summary>
    private Severity ReadVendorWords(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return Severity.Unknown;
        }

        RequireObject(value);
        var highest = Severity.Unknown;
        foreach (var name in (ReadOnlySpan<string>)["severity", "urgency", "ubuntu_priority", "priority"])
        {
            if (value.TryGetProperty(name, out var word) && word.ValueKind == JsonValueKind.String)
            {
                highest = SeverityScale.Max(highest, SeverityScale.FromWord(Enter(name, () => ReadString(word))));
            }
        }

        return highest;
    }

    private ImmutableArray<T> ReadArray<T>(JsonElement value, Func<JsonElement, T> read)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Shape($"expected an array, found {Describe(value)}");
        }

        var items = ImmutableArray.CreateBuilder<T>(value.GetArrayLength());
        var index = 0;
        foreach (var element in value.EnumerateArray())
        {
            _path.Add(Index(index++));
            items.Add(read(element));
            _path.RemoveAt(_path.Count - 1);
        }

        return items.DrainToImmutable();
    }

    private ImmutableArray<string> ReadStringArray(JsonElement value) => ReadArray(value, ReadString);

    private string ReadString(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            throw Shape($"expected a string, found {Describe(value)}");
        }

        // The raw value (quotes and escapes included) is measured before a string is made of it.
        var length = JsonMarshal.GetRawUtf8Value(value).Length - 2;
        if (length > options.MaxStringBytes)
        {
            throw Shape(string.Create(CultureInfo.InvariantCulture,
                $"a string of {length:N0} bytes is over the limit of {options.MaxStringBytes:N0}"));
        }

        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw Shape("the string is not valid UTF-8");
        }
    }

    private string? ReadOptionalString(JsonElement value) => value.ValueKind == JsonValueKind.Null ? null : ReadString(value);

    private DateTimeOffset? ReadTimestamp(JsonElement value)
    {
        // The reader's own ISO 8601 parser first (no string is made) for the "...Z" form OSV prescribes; the general
        // one for other forms. Not for a time without an offset: the reader would take it as local time, so the same
        // file would give different times on hosts in different zones.
        if (value.ValueKind == JsonValueKind.String && JsonMarshal.GetRawUtf8Value(value) is [.., (byte)'Z', (byte)'"']
            && value.TryGetDateTimeOffset(out var utc))
        {
            return utc.ToUniversalTime();
        }

        var text = ReadOptionalString(value);
        if (text is null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw Shape($"{DisplayText.Quote(text)} is not an RFC 3339 timestamp");
    }

    private string ReadRequiredString(JsonElement value, string name)
    {
        var property = RequiredProperty(value, name);
        return Enter(name, () => ReadString(property));
    }

    private JsonElement RequiredProperty(JsonElement value, string name) =>
        value.TryGetProperty(name, out var property) && property.ValueKind != JsonValueKind.Null
            ? property
            : throw Shape($"\"{name}\" is missing");

    private void RequireObject(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw Shape($"expected an object, found {Describe(value)}");
        }
    }

    private T Enter<T>(string name, Func<T> read)
    {
        _path.Add(name);
        var result = read();
        _path.RemoveAt(_path.Count - 1);
        return result;
    }

    /// <summary>The problem at the current place: "advisory "X", affected[0].package: what is wrong".</summary>
    private OsvShapeException Shape(string what)
    {
        var location = string.Concat(_path.Select((segment, i) => i == 0 || segment[0] == '[' ? segment : "." + segment));
        var prefix = (_advisoryId, location.Length) switch
        {
            (null, 0) => "",
            (null, _) => $"{location}: ",
            (_, 0) => $"advisory {DisplayText.Quote(_advisoryId)}: ",
            _ => $"advisory {DisplayText.Quote(_advisoryId)}, {location}: ",
        };
        return new OsvShapeException(prefix + what);
    }

    private static string Index(int index) => string.Create(CultureInfo.InvariantCulture, $"[{index}]");

    private static string Name(OsvEventKind kind) => kind switch
    {
        OsvEventKind.Introduced => "introduced",
        OsvEventKind.Fixed => "fixed",
        OsvEventKind.LastAffected => "last_affected",
        _ => "limit",
    };

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => "null",
    };
}

using System.Text.Json;
using System.Text.Json.Nodes;

namespace LivePatchAgent.Testing;

/// <summary>
/// Builds one OSV record as JSON, in the shape the published schema and the distributions' feeds use, so a test
/// states only what it is about: <c>new OsvRecord("DEBIAN-CVE-2026-1003").Upstream("CVE-2026-1003")
/// .Affects("Debian:12", "linux", a =&gt; a.Introduced("0").Fixed("6.1.194-1"))</c>.
/// </summary>
public sealed class OsvRecord
{
    private readonly JsonObject _json;

    public OsvRecord(string id, string modified = "2026-10-01T00:00:00Z")
    {
        Id = id;
        _json = new JsonObject
        {
            ["schema_version"] = "1.7.0",
            ["id"] = id,
            ["modified"] = modified,
            ["published"] = "2026-09-01T00:00:00Z",
        };
    }

    public string Id { get; }

    public OsvRecord Aliases(params string[] ids) => Set("aliases", Strings(ids));

    public OsvRecord Upstream(params string[] ids) => Set("upstream", Strings(ids));

    public OsvRecord Related(params string[] ids) => Set("related", Strings(ids));

    public OsvRecord Summary(string text) => Set("summary", text);

    public OsvRecord Details(string text) => Set("details", text);

    public OsvRecord Modified(string time) => Set("modified", time);

    public OsvRecord Withdrawn(string time = "2026-10-02T00:00:00Z") => Set("withdrawn", time);

    /// <summary>Adds one entry to the top-level <c>severity[]</c>.</summary>
    public OsvRecord Severity(string type, string score)
    {
        Array("severity").Add(new JsonObject { ["type"] = type, ["score"] = score });
        return this;
    }

    public OsvRecord DatabaseSpecific(string key, string value)
    {
        Object("database_specific")[key] = value;
        return this;
    }

    /// <summary>Adds an affected entry for <paramref name="package"/> in <paramref name="ecosystem"/>.</summary>
    public OsvRecord Affects(string ecosystem, string package, Action<OsvAffectedEntry>? configure = null)
    {
        var entry = new OsvAffectedEntry(ecosystem, package);
        configure?.Invoke(entry);
        Array("affected").Add(entry.Node);
        return this;
    }

    /// <summary>Sets any member to any JSON, for the shapes the builder has no method for (wrong types included).</summary>
    public OsvRecord Set(string name, JsonNode? value)
    {
        _json[name] = value;
        return this;
    }

    public OsvRecord Remove(string name)
    {
        _json.Remove(name);
        return this;
    }

    public JsonObject ToNode() => (JsonObject)_json.DeepClone();

    public string ToJson() => _json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    public override string ToString() => ToJson();

    /// <summary>A JSON array of several records, as some feeds ship them in one file.</summary>
    public static string ArrayJson(params OsvRecord[] records) =>
        new JsonArray([.. records.Select(r => (JsonNode)r.ToNode())]).ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    internal static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);

    private JsonArray Array(string name) => (JsonArray)(_json[name] ??= new JsonArray());

    private JsonObject Object(string name) => (JsonObject)(_json[name] ??= new JsonObject());
}

/// <summary>One <c>affected[]</c> entry. Range events go into the current ECOSYSTEM range, started on first use.</summary>
public sealed class OsvAffectedEntry
{
    private JsonArray? _events;

    internal OsvAffectedEntry(string ecosystem, string package) =>
        Node = new JsonObject { ["package"] = new JsonObject { ["ecosystem"] = ecosystem, ["name"] = package } };

    internal JsonObject Node { get; }

    public OsvAffectedEntry Introduced(string version) => Event("introduced", version);

    public OsvAffectedEntry Fixed(string version) => Event("fixed", version);

    public OsvAffectedEntry LastAffected(string version) => Event("last_affected", version);

    public OsvAffectedEntry Limit(string version) => Event("limit", version);

    /// <summary>Starts a new range of <paramref name="type"/>; later events go into it.</summary>
    public OsvAffectedEntry Range(string type = "ECOSYSTEM", string? repo = null)
    {
        _events = [];
        var range = new JsonObject { ["type"] = type };
        if (repo is not null)
        {
            range["repo"] = repo;
        }

        range["events"] = _events;
        Array("ranges").Add(range);
        return this;
    }

    public OsvAffectedEntry Versions(params string[] versions)
    {
        Node["versions"] = OsvRecord.Strings(versions);
        return this;
    }

    public OsvAffectedEntry EcosystemSpecific(string key, string value)
    {
        Object("ecosystem_specific")[key] = value;
        return this;
    }

    public OsvAffectedEntry DatabaseSpecific(string key, string value)
    {
        Object("database_specific")[key] = value;
        return this;
    }

    public OsvAffectedEntry Severity(string type, string score)
    {
        Array("severity").Add(new JsonObject { ["type"] = type, ["score"] = score });
        return this;
    }

    public OsvAffectedEntry Purl(string purl)
    {
        ((JsonObject)Node["package"]!)["purl"] = purl;
        return this;
    }

    private OsvAffectedEntry Event(string kind, string version)
    {
        if (_events is null)
        {
            Range();
        }

        _events!.Add(new JsonObject { [kind] = version });
        return this;
    }

    private JsonArray Array(string name) => (JsonArray)(Node[name] ??= new JsonArray());

    private JsonObject Object(string name) => (JsonObject)(Node[name] ??= new JsonObject());
}

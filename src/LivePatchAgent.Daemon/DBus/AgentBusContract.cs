using System.Collections.Frozen;
using System.Text;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Daemon.DBus;

/// <summary>
/// The names of org.livepatchd.Agent1 and the XML contract (protos/dbus/org.livepatchd.Agent1.xml, embedded).
/// The member tables here are what <see cref="AgentObject"/> answers; a unit test holds them equal to the XML,
/// so the file stays the one contract.
/// </summary>
internal static class AgentBusContract
{
    public const string BusName = "org.livepatchd.Agent1";
    public const string ObjectPath = "/org/livepatchd/Agent1";
    public const string Interface = "org.livepatchd.Agent1";
    public const string ErrorPrefix = "org.livepatchd.Agent1.Error.";
    public const string ResourceName = "org.livepatchd.Agent1.xml";

    /// <summary>The methods: name → (in signature, out signature).</summary>
    public static FrozenDictionary<string, (string In, string Out)> Methods { get; } = new Dictionary<string, (string, string)>
    {
        ["GetPatches"] = (string.Empty, "a(ssbbu)"),
        ["GetPatch"] = ("s", "a{sv}"),
        ["GetHistory"] = ("u", "a(tssssss)"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The signals: name → signature.</summary>
    public static FrozenDictionary<string, string> Signals { get; } = new Dictionary<string, string>
    {
        ["PatchStateChanged"] = "ss",
        ["TransitionStalled"] = "sud",
        ["KernelChanged"] = "s",
        ["KernelHealthReport"] = "sssss",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The whole embedded contract file, as written (with its documentation comments).</summary>
    public static string ContractXml { get; } = ReadContract();

    /// <summary>The &lt;interface&gt; element, comments removed, as Introspect serves it.</summary>
    public static ReadOnlyMemory<byte> InterfaceXml { get; } = Encoding.UTF8.GetBytes(ExtractInterface(ContractXml));

    /// <summary>
    /// The D-Bus error name of a catalogued reason: its kebab-case code in CamelCase after
    /// <see cref="ErrorPrefix"/> (patch-not-found → org.livepatchd.Agent1.Error.PatchNotFound).
    /// </summary>
    public static string ErrorName(ErrorReason reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        var name = new StringBuilder(ErrorPrefix, ErrorPrefix.Length + reason.Code.Length);
        foreach (var word in reason.Code.Split('-', StringSplitOptions.RemoveEmptyEntries))
        {
            name.Append(char.ToUpperInvariant(word[0])).Append(word.AsSpan(1));
        }

        return name.ToString();
    }

    private static string ReadContract()
    {
        using var stream = typeof(AgentBusContract).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the embedded resource {ResourceName} is missing from the build");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Cuts the interface element out of the file and drops its comments. Plain string work on purpose: an XML
    /// parser would add megabytes to the Native AOT binary for one fixed, tested file.
    /// </summary>
    internal static string ExtractInterface(string contract)
    {
        var start = contract.IndexOf("<interface ", StringComparison.Ordinal);
        var end = contract.LastIndexOf("</interface>", StringComparison.Ordinal);
        if (start < 0 || end < start)
        {
            throw new InvalidOperationException($"{ResourceName} has no <interface> element");
        }

        var text = contract[start..(end + "</interface>".Length)];
        var result = new StringBuilder(text.Length);
        var position = 0;
        while (position < text.Length)
        {
            var comment = text.IndexOf("<!--", position, StringComparison.Ordinal);
            if (comment < 0)
            {
                result.Append(text, position, text.Length - position);
                break;
            }

            result.Append(text, position, comment - position);
            var close = text.IndexOf("-->", comment, StringComparison.Ordinal);
            position = close < 0 ? text.Length : close + 3;
        }

        // Blank lines left by the removed comments.
        var lines = result.ToString().Split('\n').Where(l => !string.IsNullOrWhiteSpace(l));
        return string.Join('\n', lines) + "\n";
    }
}

using System.Xml.Linq;

namespace LivePatchAgent.Testing;

public sealed record ContractMethod(string Name, string In, string Out);

public sealed record ContractProperty(string Name, string Type, string Access, string EmitsChangedSignal);

public sealed record ContractSignal(string Name, string Signature);

/// <summary>One interface of D-Bus introspection XML, read with a real XML parser (the daemon does not use one).</summary>
public sealed class ContractXml
{
    public const string RepositoryPath = "protos/dbus/org.livepatchd.Agent1.xml";

    private ContractXml(XElement iface)
    {
        Methods = [.. iface.Elements("method").Select(m => new ContractMethod(
            (string)m.Attribute("name")!,
            Signature(m, "in"),
            Signature(m, "out")))];
        Properties = [.. iface.Elements("property").Select(p => new ContractProperty(
            (string)p.Attribute("name")!,
            (string)p.Attribute("type")!,
            (string)p.Attribute("access")!,
            (string?)p.Elements("annotation").FirstOrDefault(a => (string?)a.Attribute("name") == "org.freedesktop.DBus.Property.EmitsChangedSignal")?.Attribute("value") ?? "true"))];
        Signals = [.. iface.Elements("signal").Select(s => new ContractSignal(
            (string)s.Attribute("name")!,
            string.Concat(s.Elements("arg").Select(a => (string)a.Attribute("type")!))))];
    }

    public IReadOnlyList<ContractMethod> Methods { get; }

    public IReadOnlyList<ContractProperty> Properties { get; }

    public IReadOnlyList<ContractSignal> Signals { get; }

    /// <summary>The interface <paramref name="interfaceName"/> of an introspection document.</summary>
    public static ContractXml Parse(string xml, string interfaceName = "org.livepatchd.Agent1")
    {
        var document = XDocument.Parse(xml);
        var iface = document.Descendants("interface").FirstOrDefault(i => (string?)i.Attribute("name") == interfaceName)
            ?? throw new InvalidOperationException($"no interface {interfaceName} in the XML");
        return new ContractXml(iface);
    }

    /// <summary>Names of every interface in an introspection document.</summary>
    public static IReadOnlyList<string> InterfaceNames(string xml) =>
        [.. XDocument.Parse(xml).Descendants("interface").Select(i => (string)i.Attribute("name")!)];

    public static string RepositoryFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(relative);
    }

    public static ContractXml FromRepository() => Parse(File.ReadAllText(RepositoryFile(RepositoryPath)));

    private static string Signature(XElement method, string direction) =>
        string.Concat(method.Elements("arg")
            .Where(a => ((string?)a.Attribute("direction") ?? "in") == direction)
            .Select(a => (string)a.Attribute("type")!));
}

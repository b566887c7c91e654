using System.Text;

namespace LivePatchAgent.Testing;

/// <summary>
/// A temporary advisory directory, as configuration management fills it: OSV files written from
/// <see cref="OsvRecord"/>s, from text, or copied from the committed samples (<c>TestData/osv/</c>). Deleted on
/// dispose.
/// </summary>
public sealed class OsvFixture : IDisposable
{
    private OsvFixture(string directory) => Directory = directory;

    public string Directory { get; }

    /// <summary>The committed real-shaped samples (see TestData/README.md).</summary>
    public static IReadOnlyList<string> SampleNames { get; } =
        [.. System.IO.Directory.GetFiles(Path.Combine(TestData.Directory, "osv"), "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    public static OsvFixture Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), "lpa-osv-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        return new OsvFixture(directory);
    }

    /// <summary>Writes <paramref name="record"/> to <c>id.json</c> (':' in the id becomes '_') or the name given.</summary>
    public string Write(OsvRecord record, string? fileName = null) =>
        Write(fileName ?? record.Id.Replace(':', '_') + ".json", record.ToJson());

    /// <summary>Writes several records as one JSON array.</summary>
    public string WriteArray(string fileName, params OsvRecord[] records) => Write(fileName, OsvRecord.ArrayJson(records));

    public string Write(string fileName, string text) => Write(fileName, Encoding.UTF8.GetBytes(text));

    public string Write(string fileName, byte[] bytes)
    {
        var path = Path.Combine(Directory, fileName);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Copies a committed sample (<c>TestData/osv/name</c>) into the directory.</summary>
    public string CopySample(string name, string? fileName = null)
    {
        var path = Path.Combine(Directory, fileName ?? name);
        File.Copy(TestData.PathOf(Path.Combine("osv", name)), path, overwrite: true);
        return path;
    }

    /// <summary>Copies every committed sample.</summary>
    public OsvFixture WithSamples()
    {
        foreach (var name in SampleNames)
        {
            CopySample(name);
        }

        return this;
    }

    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

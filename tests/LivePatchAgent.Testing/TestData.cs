namespace LivePatchAgent.Testing;

/// <summary>
/// The committed test modules and certificates (<c>TestData/</c>; its README says how each was made). They are
/// copied next to every assembly that references this project, so tests read them from their own output directory.
/// </summary>
public static class TestData
{
    /// <summary>The directory that holds the files.</summary>
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "TestData");

    /// <summary>The full path of one file; throws when it is not there, naming it.</summary>
    public static string PathOf(string name)
    {
        var path = Path.Combine(Directory, name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"test data file {name} is not in {Directory}", path);
    }

    /// <summary>The bytes of one file.</summary>
    public static byte[] Read(string name) => File.ReadAllBytes(PathOf(name));
}

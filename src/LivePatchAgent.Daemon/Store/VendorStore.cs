using System.Text.Json;
using LivePatchAgent.Core;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// The vendor store (Paths:VendorStoreDir): patches that OS packages (.deb, .rpm) deliver as
/// <c>&lt;dir&gt;/&lt;kernel release&gt;/&lt;name&gt;.ko</c>, the signed module uncompressed, each with an optional
/// <c>&lt;name&gt;.vendor.json</c> sidecar <c>{"package": "...", "version": "..."}</c> naming the package. The package
/// manager owns the directory: livepatchd only reads it, and never writes, creates or deletes anything there. There
/// is no install-time manifest, so every listing reads each module again, and every load re-runs every check (the
/// signature against the trusted certificates is the integrity check). Whatever cannot be used is a problem line
/// of the listing, never an exception.
/// </summary>
internal sealed class VendorStore
{
    public const string SidecarSuffix = ".vendor.json";
    private const string ModuleSuffix = ".ko";
    private readonly Func<ReadOnlyMemory<byte>, string, VerificationReport> _inspect;
    private readonly long _maxModuleSize;

    /// <param name="root">The vendor store directory (Paths:VendorStoreDir).</param>
    /// <param name="inspect">Verifies a module's bytes against a kernel release (the daemon's verification).</param>
    /// <param name="maxModuleSize">A larger .ko is not read (Limits:MaxModuleSize).</param>
    public VendorStore(string root, Func<ReadOnlyMemory<byte>, string, VerificationReport> inspect, long maxModuleSize)
    {
        ArgumentNullException.ThrowIfNull(inspect);
        Root = Path.GetFullPath(root);
        _inspect = inspect;
        _maxModuleSize = maxModuleSize;
    }

    public string Root { get; }

    public string ReleaseDir(string release) => Path.Combine(Root, release);

    /// <summary>The kernel releases that have a directory in the vendor store, in ordinal order; problems when it cannot be read.</summary>
    public IReadOnlyList<string> Releases(List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return Entries(Root, problems) is { } entries
            ? [.. entries.OfType<DirectoryInfo>().Select(d => d.Name).Where(r => PatchStore.ReleaseProblem(r) is null).Order(StringComparer.Ordinal)]
            : [];
    }

    /// <summary>
    /// The vendor patches of <paramref name="release"/>, by name, as manifests read from the modules themselves
    /// (<see cref="InstalledPatchManifest.Vendor"/> set). A missing store or release directory is simply empty;
    /// an unreadable one, a module that cannot be read, and files that are neither a module nor a sidecar are
    /// reported in <paramref name="problems"/>.
    /// </summary>
    public IReadOnlyList<InstalledPatchManifest> List(string release, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (PatchStore.ReleaseProblem(release) is not null || Entries(Root, problems, rootOnly: true) is null)
        {
            return [];
        }

        var dir = ReleaseDir(release);
        if (Entries(dir, problems) is not { } entries)
        {
            return [];
        }

        var names = entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var patches = new List<InstalledPatchManifest>();
        foreach (var entry in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (entry.Name.EndsWith(SidecarSuffix, StringComparison.Ordinal))
            {
                if (!names.Contains(entry.Name[..^SidecarSuffix.Length] + ModuleSuffix))
                {
                    problems.Add($"{entry.FullName}: a sidecar without its module {entry.Name[..^SidecarSuffix.Length]}{ModuleSuffix}; ignored");
                }
            }
            else if (!entry.Name.EndsWith(ModuleSuffix, StringComparison.Ordinal) || entry is DirectoryInfo)
            {
                problems.Add($"{entry.FullName}: not a patch module (<name>{ModuleSuffix}, uncompressed) or a sidecar (<name>{SidecarSuffix}); ignored");
            }
            else if (Read(entry.FullName, release, problems) is { } patch)
            {
                patches.Add(patch);
            }
        }

        return patches;
    }

    /// <summary>Reads a vendor module's bytes to load it; every load check runs on them.</summary>
    public static byte[] ReadModule(VendorSource vendor)
    {
        ArgumentNullException.ThrowIfNull(vendor);
        return File.ReadAllBytes(vendor.ModulePath);
    }

    /// <summary>The package and its version from a sidecar; a missing or unreadable sidecar is a warning, never an error.</summary>
    public static (string? Package, string? Version, string? Warning) ReadSidecar(string path)
    {
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, null, $"{path} is not a JSON object; the package is unknown");
            }

            var package = Text(json.RootElement, "package");
            var version = Text(json.RootElement, "version");
            return package is null
                ? (null, version, $"{path} names no package (\"package\": a non-empty string); the package is unknown")
                : (package, version, null);
        }
        catch (FileNotFoundException)
        {
            return (null, null, $"no sidecar {Path.GetFileName(path)}; the package is unknown");
        }
        catch (JsonException e)
        {
            return (null, null, $"{path} is not valid JSON ({e.Message}); the package is unknown");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, null, $"cannot read {path}: {e.Message}; the package is unknown");
        }
    }

    private static string? Text(JsonElement root, string property) =>
        root.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    /// <summary>A directory's entries; null (with a problem unless it does not exist) when it cannot be read.</summary>
    private static FileSystemInfo[]? Entries(string dir, List<string> problems, bool rootOnly = false)
    {
        try
        {
            if (File.Exists(dir))
            {
                problems.Add($"{dir} is not a directory" + (rootOnly ? " (Paths:VendorStoreDir); no vendor patches are read" : "; no vendor patches are read for it"));
                return null;
            }

            var info = new DirectoryInfo(dir);
            return rootOnly ? (info.Exists ? [] : null) : info.GetFileSystemInfos();
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot read the vendor store directory {dir}: {e.Message}");
            return null;
        }
    }

    private InstalledPatchManifest? Read(string path, string release, List<string> problems)
    {
        var name = Path.GetFileName(path)[..^ModuleSuffix.Length];
        if (ModuleName.Validate(name) is { } invalid)
        {
            problems.Add($"{path}: not a valid patch name ({invalid}); ignored");
            return null;
        }

        byte[] bytes;
        DateTimeOffset modified;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (file.Length > _maxModuleSize)
            {
                problems.Add($"{path} is {file.Length} bytes; Limits:MaxModuleSize allows {_maxModuleSize}; ignored");
                return null;
            }

            bytes = new byte[file.Length];
            file.ReadExactly(bytes);
            modified = File.GetLastWriteTimeUtc(path);
        }
        catch (FileNotFoundException) when (new FileInfo(path).LinkTarget is { } target)
        {
            problems.Add($"{path} is a dangling symbolic link (to {target}); ignored");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot read {path}: {e.Message}; ignored");
            return null;
        }

        var (package, version, sidecarWarning) = ReadSidecar(Path.Combine(Path.GetDirectoryName(path)!, name + SidecarSuffix));
        var report = _inspect(bytes, release);
        var warnings = new List<string>();
        if (sidecarWarning is not null)
        {
            warnings.Add(sidecarWarning);
        }

        if (report.FirstFailure is { } failure)
        {
            warnings.Add($"does not verify ({failure.Reason?.Code}): {failure.Detail}; it fails to load");
        }

        return InstalledPatchManifest.FromReport(ModuleName.Normalize(name), release, report, bytes.LongLength, modified) with
        {
            // klp_patch.replace is in the module's code: a vendor patch that declares a level is a cumulative one.
            Replace = report.Metadata.Level is null ? null : true,
            InstalledBy = package is null ? "a vendor package" : $"the package {package}",
            Vendor = new VendorSource(path, package, version) { Warnings = [.. warnings] },
        };
    }
}

/// <summary>Where a vendor patch comes from: its module file and the package that installed it (null when unknown).</summary>
internal sealed record VendorSource(string ModulePath, string? Package, string? Version)
{
    /// <summary>What is wrong with it, shown in the listing: a missing or damaged sidecar, a failed check.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>"by the package P" or "by a vendor package", for messages.</summary>
    public string By => Package is null ? "by a vendor package" : $"by the package {Package}";
}

using System.Text.Json;
using System.Text.RegularExpressions;
using LivePatchAgent.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Linux.Native;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// The installed patches on disk: <c>&lt;state dir&gt;/patches/&lt;kernel release&gt;/&lt;name&gt;.ko</c> with a
/// <c>&lt;name&gt;.json</c> manifest beside it. Every change is a sequence of durable steps (temporary file, fsync,
/// rename, fsync of the directory) ordered so that a crash or a failed step between any two of them leaves
/// either the old installation or none visible, never a manifest that describes other bytes than its .ko:
/// the manifest is written last and removed first. One writer at a time (a lock), readers see whole steps.
/// </summary>
internal sealed partial class PatchStore
{
    private const string ModuleSuffix = ".ko";
    private const string ManifestSuffix = ".json";
    private readonly Lock _lock = new();

    /// <param name="root">The store directory, <c>&lt;state dir&gt;/patches</c>.</param>
    /// <param name="beforeStep">Called before every durable step; tests throw from it to inject a failure.</param>
    public PatchStore(string root, Action<DurableFileStep, string>? beforeStep = null)
    {
        Root = Path.GetFullPath(root);
        BeforeStep = beforeStep;
    }

    public string Root { get; }

    /// <summary>Raised after a patch was installed or uninstalled through this store (not for files changed behind its back).</summary>
    public event Action? Changed;

    internal Action<DurableFileStep, string>? BeforeStep { get; set; }

    public string ReleaseDir(string release) => Path.Combine(Root, CheckRelease(release));

    public string ModulePath(string release, string name) => Path.Combine(ReleaseDir(release), name + ModuleSuffix);

    public string ManifestPath(string release, string name) => Path.Combine(ReleaseDir(release), name + ManifestSuffix);

    /// <summary>The kernel releases that have a directory in the store, in ordinal order.</summary>
    public IReadOnlyList<string> Releases()
    {
        try
        {
            return [.. Directory.GetDirectories(Root).Select(Path.GetFileName).OfType<string>()
                .Where(r => ReleaseProblem(r) is null).Order(StringComparer.Ordinal)];
        }
        catch (DirectoryNotFoundException)
        {
            return [];
        }
    }

    /// <summary>
    /// The installed patches of <paramref name="release"/>, by name. Entries that cannot be used are reported in
    /// <paramref name="problems"/> (a damaged manifest, a manifest without its module, a module without a
    /// manifest left by an interrupted install) and are not installed.
    /// </summary>
    public IReadOnlyList<InstalledPatchManifest> List(string release, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var dir = ReleaseDir(release);
        lock (_lock)
        {
            string[] files;
            try
            {
                files = Directory.GetFiles(dir);
            }
            catch (DirectoryNotFoundException)
            {
                return [];
            }

            var names = files.Select(Path.GetFileName).OfType<string>()
                .Where(f => !f.StartsWith(DurableFile.TempPrefix, StringComparison.Ordinal))
                .ToHashSet(StringComparer.Ordinal);
            var manifests = new List<InstalledPatchManifest>();
            foreach (var file in names.Where(f => f.EndsWith(ManifestSuffix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            {
                var name = file[..^ManifestSuffix.Length];
                if (!names.Contains(name + ModuleSuffix))
                {
                    problems.Add($"{Path.Combine(dir, file)}: its module {name}{ModuleSuffix} is missing; uninstall {name} and install it again");
                    continue;
                }

                if (ReadManifest(Path.Combine(dir, file), release, name, out var problem) is { } manifest)
                {
                    manifests.Add(manifest);
                }
                else
                {
                    problems.Add(problem!);
                }
            }

            foreach (var file in names.Where(f => f.EndsWith(ModuleSuffix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            {
                if (!names.Contains(file[..^ModuleSuffix.Length] + ManifestSuffix))
                {
                    problems.Add($"{Path.Combine(dir, file)} has no manifest (an install that did not finish); it is not installed");
                }
            }

            return manifests;
        }
    }

    /// <summary>The manifest of one installed patch, or null when it is not installed.</summary>
    public InstalledPatchManifest? Find(string release, string name)
    {
        var problems = new List<string>();
        return List(release, problems).FirstOrDefault(m => m.Name == name);
    }

    /// <summary>
    /// Installs <paramref name="module"/> as <paramref name="manifest"/> describes it. An earlier installation of
    /// the same name is replaced: with other bytes, its manifest is removed first, so a crash in between leaves the
    /// patch uninstalled rather than a manifest that does not match its module. Returns whether one was replaced.
    /// </summary>
    public bool Install(InstalledPatchManifest manifest, ReadOnlySpan<byte> module)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var modulePath = ModulePath(manifest.KernelRelease, CheckName(manifest.Name));
        var manifestPath = ManifestPath(manifest.KernelRelease, manifest.Name);
        var json = JsonSerializer.SerializeToUtf8Bytes(manifest, StoreJsonContext.Default.InstalledPatchManifest);
        InstalledPatchManifest? previous;
        lock (_lock)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(modulePath)!);
            previous = File.Exists(manifestPath) ? ReadManifest(manifestPath, manifest.KernelRelease, manifest.Name, out _) : null;
            var sameModule = previous is not null && previous.Sha256 == manifest.Sha256 && File.Exists(modulePath);
            if (!sameModule)
            {
                if (File.Exists(manifestPath))
                {
                    DurableFile.Delete(manifestPath, BeforeStep);
                }

                DurableFile.Write(modulePath, module, BeforeStep);
            }

            DurableFile.Write(manifestPath, json, BeforeStep);
        }

        Changed?.Invoke();
        return previous is not null;
    }

    /// <summary>Removes an installed patch: the manifest first (then it is no longer installed), then the module.</summary>
    public bool Uninstall(string release, string name)
    {
        var modulePath = ModulePath(release, CheckName(name));
        var manifestPath = ManifestPath(release, name);
        lock (_lock)
        {
            if (!File.Exists(manifestPath) && !File.Exists(modulePath))
            {
                return false;
            }

            if (File.Exists(manifestPath))
            {
                DurableFile.Delete(manifestPath, BeforeStep);
            }

            if (File.Exists(modulePath))
            {
                DurableFile.Delete(modulePath, BeforeStep);
            }
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>Reads an installed module's bytes; they are checked against the manifest's hash before any use.</summary>
    public byte[] ReadModule(string release, string name) => File.ReadAllBytes(ModulePath(release, CheckName(name)));

    /// <summary>Removes temporary files that a crash during a write left behind; they were never visible as installed.</summary>
    public int RemoveTemporaryFiles()
    {
        var removed = 0;
        lock (_lock)
        {
            foreach (var release in Releases())
            {
                foreach (var temp in Directory.GetFiles(ReleaseDir(release), DurableFile.TempPrefix + "*" + DurableFile.TempSuffix))
                {
                    File.Delete(temp);
                    removed++;
                }
            }
        }

        return removed;
    }

    /// <summary>Why <paramref name="release"/> cannot name a store directory; null when it can.</summary>
    public static string? ReleaseProblem(string release)
    {
        if (string.IsNullOrEmpty(release))
        {
            return "the kernel release is empty";
        }

        if (release.Length > 64)
        {
            return $"the kernel release is {release.Length} characters; uname -r has at most 64";
        }

        return ReleasePattern().IsMatch(release) && release is not "." and not ".."
            ? null
            : $"\"{release}\" is not a kernel release: use letters, digits and . _ + ~ - only, as uname -r prints";
    }

    private static string CheckRelease(string release) =>
        ReleaseProblem(release) is { } problem ? throw new AgentException(ErrorReason.InvalidArgument, problem) : release;

    private static string CheckName(string name) =>
        ModuleName.Validate(name) is { } problem
            ? throw new AgentException(ErrorReason.InvalidArgument, $"invalid patch name: {problem}")
            : ModuleName.Normalize(name);

    private static InstalledPatchManifest? ReadManifest(string path, string release, string name, out string? problem)
    {
        problem = null;
        try
        {
            var manifest = JsonSerializer.Deserialize(File.ReadAllBytes(path), StoreJsonContext.Default.InstalledPatchManifest);
            if (manifest is null || manifest.Name != name || manifest.KernelRelease != release || manifest.Sha256.Length != 64)
            {
                problem = $"{path}: the manifest does not describe {name} for {release}; uninstall {name} and install it again";
                return null;
            }

            return manifest;
        }
        catch (JsonException e)
        {
            problem = $"{path}: damaged manifest ({e.Message}); uninstall {name} and install it again";
            return null;
        }
        catch (FileNotFoundException)
        {
            problem = $"{path} disappeared while it was read";
            return null;
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._+~-]*$")]
    private static partial Regex ReleasePattern();
}

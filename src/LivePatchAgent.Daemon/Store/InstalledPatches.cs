namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// What is installed for a kernel release: the patches of the local store (<see cref="PatchStore"/>, an operator's
/// <c>lpctl install</c>) and of the vendor store (<see cref="VendorStore"/>, OS packages). A name both hold is the
/// local one's: the operator's explicit install wins, and the vendor copy is shadowed (noted on the local entry).
/// Listing, start-up apply and <c>lpctl apply</c> all read this one view.
/// </summary>
internal sealed class InstalledPatches(PatchStore local, VendorStore vendor, ILogger<InstalledPatches> logger)
{
    public PatchStore Local => local;

    public VendorStore Vendor => vendor;

    /// <summary>The kernel releases with a directory in either store, in ordinal order.</summary>
    public IReadOnlyList<string> Releases(List<string> problems) =>
        [.. local.Releases().Union(vendor.Releases(problems), StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>
    /// The installed patches of <paramref name="release"/>, local and vendor, the local one winning a name both hold.
    /// With <paramref name="log"/> (apply), every problem and every shadowed vendor copy is logged as well.
    /// </summary>
    public IReadOnlyList<InstalledPatchManifest> List(string release, List<string> problems, bool log = false)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var localProblems = new List<string>();
        var vendorProblems = new List<string>();
        var merged = Merge(local.List(release, localProblems), vendor.List(release, vendorProblems));
        if (log)
        {
            localProblems.ForEach(p => StoreLog.StoreProblem(logger, p));
            vendorProblems.ForEach(p => VendorLog.StoreProblem(logger, p));
            foreach (var patch in merged.Where(p => p.ShadowedVendor is not null))
            {
                VendorLog.Shadowed(logger, patch.Name, release, patch.ShadowedVendor!.ModulePath);
            }
        }

        problems.AddRange(localProblems);
        problems.AddRange(vendorProblems);
        return merged;
    }

    /// <summary>The local patches (each with the vendor copy it shadows), then the vendor patches no local one shadows.</summary>
    public static IReadOnlyList<InstalledPatchManifest> Merge(IReadOnlyList<InstalledPatchManifest> localPatches, IReadOnlyList<InstalledPatchManifest> vendorPatches)
    {
        ArgumentNullException.ThrowIfNull(localPatches);
        ArgumentNullException.ThrowIfNull(vendorPatches);
        var vendorByName = vendorPatches.ToDictionary(p => p.Name, StringComparer.Ordinal);
        return [.. localPatches.Select(p => vendorByName.TryGetValue(p.Name, out var shadowed) ? p with { ShadowedVendor = shadowed.Vendor } : p),
            .. vendorPatches.Where(v => !localPatches.Any(p => p.Name == v.Name))];
    }

    /// <summary>
    /// Why an uninstall of <paramref name="name"/> is refused: it is not in the local store but a package delivered it
    /// (the vendor store is read-only to livepatchd); null when the local store holds it, or neither does.
    /// </summary>
    public string? VendorRefusal(string release, string name)
    {
        if (File.Exists(local.ModulePath(release, name)) || File.Exists(local.ManifestPath(release, name))
            || vendor.List(release, []).FirstOrDefault(p => p.Name == name)?.Vendor is not { } source)
        {
            return null;
        }

        VendorLog.UninstallRefused(logger, name, release, source.Package ?? "unknown package");
        return $"{name} is installed {source.By} (vendor store {vendor.ReleaseDir(release)}); remove the package with your package manager (apt remove / dnf remove)";
    }
}

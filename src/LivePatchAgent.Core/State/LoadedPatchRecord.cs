using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Core.State;

/// <summary>
/// What livepatchd knew about a patch module when it loaded it in this boot: the kernel keeps no .modinfo of a
/// loaded module that user space could read back (only srcversion and version), so the security metadata of a
/// loaded patch is what was verified on the way in. A patch loaded by other means (insmod) has no record.
/// </summary>
/// <param name="Name">The module (patch) name.</param>
/// <param name="Sha256">SHA-256 of the loaded image, as verified.</param>
/// <param name="Declared">What the module's .modinfo declared, marked signed or unsigned-modinfo.</param>
/// <param name="Operator">What the operator said at install time, for a patch loaded from the store.</param>
/// <param name="LoadedAt">When the kernel accepted the module.</param>
public sealed record LoadedPatchRecord(string Name, string Sha256, PatchMetadata Declared, PatchMetadata Operator, DateTimeOffset LoadedAt)
{
    /// <summary>The module's srcversion from .modinfo: a loaded module whose srcversion differs is another build.</summary>
    public string? SrcVersion { get; init; }

    /// <summary>The boot the load happened in; records of other boots are dropped.</summary>
    public string? BootId { get; init; }

    /// <summary>The metadata as shown: the merge rule of <see cref="PatchMetadata.Merge"/>.</summary>
    public PatchMetadata Metadata => PatchMetadata.Merge(Declared, Operator);

    /// <summary>
    /// Whether the record still describes the module of its name in <paramref name="snapshot"/>: the
    /// module is there (registered or a leftover) with the same srcversion, whenever the kernel shows one. A
    /// snapshot taken after the load that lacks the module means it was removed, and the record is over.
    /// </summary>
    public bool Describes(KernelSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var patch = snapshot.FindPatch(Name);
        var leftover = snapshot.Leftovers.FirstOrDefault(l => l.Name == Name);
        if (patch is null && leftover is null)
        {
            // Not there yet in a snapshot older than the load; gone in a newer one.
            return snapshot.TakenAt <= LoadedAt;
        }

        var live = patch is not null ? patch.Module?.SrcVersion : leftover!.Module.SrcVersion;
        return SrcVersion is null || string.IsNullOrEmpty(live) || live == SrcVersion;
    }
}

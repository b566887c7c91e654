using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.Posture;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Store;

namespace LivePatchAgent.Daemon.Posture;

/// <summary>
/// What each patch on the host claims to fix, the evaluation's input. A live patch (registered, enabled, not in
/// transition) claims what livepatchd verified when it loaded the module (<see cref="AgentView.MetadataOf"/>);
/// an installed one what its manifest holds. Both are the module's .modinfo (signed or not) with the operator's
/// install metadata where the module says nothing, each field marked with its source.
/// </summary>
internal static class PatchClaims
{
    public static IReadOnlyList<PatchClaim> From(AgentView view, PatchStore store)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(store);
        var installed = (view.Snapshot.Kernel.Release is { } release ? store.List(release, []) : [])
            .ToDictionary(m => m.Name, StringComparer.Ordinal);
        var claims = new List<PatchClaim>();
        foreach (var patch in view.Snapshot.Patches.Where(p => p.State == PatchState.Enabled))
        {
            installed.TryGetValue(patch.Name, out var manifest);
            // A patch loaded behind livepatchd's back (insmod) has no verified metadata; its installed copy's is the
            // same module only if livepatchd loaded it, so an unknown live patch claims nothing.
            if (view.MetadataOf(patch) is { } metadata)
            {
                claims.Add(Claim(patch.Name, live: true, installed: manifest is not null, metadata));
            }

            installed.Remove(patch.Name);
        }

        claims.AddRange(installed.Values.Select(m => Claim(m.Name, live: false, installed: true, m.EffectiveMetadata)));
        return claims;
    }

    private static PatchClaim Claim(string name, bool live, bool installed, PatchMetadata metadata) => new(
        name,
        live,
        installed,
        metadata.CveIds.ToValueArray(),
        SourceOf(metadata.CveIdsSource == MetadataSource.None ? metadata.FixesVersionSource : metadata.CveIdsSource),
        metadata.FixesVersion);

    private static ClaimSource SourceOf(MetadataSource source) => source switch
    {
        MetadataSource.SignedModinfo => ClaimSource.SignedMetadata,
        MetadataSource.UnsignedModinfo => ClaimSource.UnsignedMetadata,
        _ => ClaimSource.Operator,
    };
}

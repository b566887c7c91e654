using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Posture;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Store;

namespace LivePatchAgent.Daemon.Posture;

/// <summary>
/// What each patch on the host claims to fix, the evaluation's input: the live patches (registered, enabled, not in
/// transition) and the installed ones of the running kernel, each with the CVE ids and kernel level of its metadata
/// and who stated them.
/// </summary>
internal static class PatchClaims
{
    public static IReadOnlyList<PatchClaim> From(AgentView view, PatchStore store)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(store);
        var live = view.Snapshot.Patches
            .Where(p => p.State == PatchState.Enabled)
            .Select(p => p.Name)
            .ToHashSet(StringComparer.Ordinal);
        var installed = view.Snapshot.Kernel.Release is { } release
            ? store.List(release, [])
            : [];
        var claims = new List<PatchClaim>();
        foreach (var manifest in installed)
        {
            claims.Add(new PatchClaim(
                manifest.Name,
                live.Contains(manifest.Name),
                Installed: true,
                manifest.CveIds.ToValueArray(),
                ClaimSource.Operator));
        }

        return claims;
    }
}

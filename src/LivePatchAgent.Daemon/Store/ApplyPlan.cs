namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// Decides, deterministically, which installed patches start-up apply loads and in which order. Of several
/// cumulative (replace) patches only the newest is loaded: the highest level (the module's livepatch_level, else
/// the operator's cumulative version), then the latest install time, then the name. It goes first, because loading it replaces every patch loaded before it; the
/// non-cumulative patches installed after it follow, oldest first, and stack on top. Non-cumulative patches
/// installed before it are superseded: it would replace them the moment it loaded, as it did when it was
/// installed. Patches already registered in the kernel are left alone. A patch the health guard quarantined is held
/// back and does not count as the newest cumulative one: the next newest, the last known good, is loaded instead.
/// </summary>
internal static class ApplyPlan
{
    public static IReadOnlyList<PlannedApply> For(IEnumerable<InstalledPatchManifest> installed, Func<string, bool> isLoaded, Func<InstalledPatchManifest, string?>? quarantined = null)
    {
        ArgumentNullException.ThrowIfNull(installed);
        ArgumentNullException.ThrowIfNull(isLoaded);
        var plan = new List<PlannedApply>();
        var all = new List<InstalledPatchManifest>();
        foreach (var patch in installed)
        {
            if (!isLoaded(patch.Name) && quarantined?.Invoke(patch) is { } reason)
            {
                plan.Add(new PlannedApply(patch, ApplyDecision.Quarantined, null) { QuarantineReason = reason });
            }
            else
            {
                all.Add(patch);
            }
        }

        var cumulative = all.Where(p => p.IsCumulative)
            .OrderByDescending(p => p.EffectiveMetadata.Level ?? 0)
            .ThenByDescending(p => p.InstalledAt)
            .ThenByDescending(p => p.Name, StringComparer.Ordinal)
            .ToList();
        var newest = cumulative.FirstOrDefault();
        if (newest is not null)
        {
            plan.Add(Decide(newest, isLoaded, supersededBy: null));
        }

        foreach (var other in cumulative.Skip(1).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            plan.Add(Decide(other, isLoaded, supersededBy: newest));
        }

        foreach (var patch in all.Where(p => !p.IsCumulative).OrderBy(p => p.InstalledAt).ThenBy(p => p.Name, StringComparer.Ordinal))
        {
            var superseded = newest is not null && patch.InstalledAt < newest.InstalledAt ? newest : null;
            plan.Add(Decide(patch, isLoaded, superseded));
        }

        // Loads first, in their order; then what is not loaded, by name, for a stable report.
        return [.. plan.Where(p => p.Decision == ApplyDecision.Load),
            .. plan.Where(p => p.Decision != ApplyDecision.Load).OrderBy(p => p.Patch.Name, StringComparer.Ordinal)];
    }

    private static PlannedApply Decide(InstalledPatchManifest patch, Func<string, bool> isLoaded, InstalledPatchManifest? supersededBy)
    {
        if (isLoaded(patch.Name))
        {
            return new PlannedApply(patch, ApplyDecision.AlreadyLoaded, null);
        }

        return supersededBy is null
            ? new PlannedApply(patch, ApplyDecision.Load, null)
            : new PlannedApply(patch, ApplyDecision.Superseded, supersededBy.Name);
    }
}

/// <summary>What start-up apply does with one installed patch.</summary>
internal sealed record PlannedApply(InstalledPatchManifest Patch, ApplyDecision Decision, string? SupersededBy)
{
    /// <summary>For a quarantined patch: why it is held back.</summary>
    public string? QuarantineReason { get; init; }
}

internal enum ApplyDecision
{
    Load,
    AlreadyLoaded,
    Superseded,
    Quarantined,
}

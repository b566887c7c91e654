using System.Collections.Immutable;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// Decides, for every advisory about the running kernel package, whether the running version is affected and if so
/// what closes it. Pure and deterministic: the same inputs give an equal <see cref="KernelPosture"/>.
/// <para>Matching: an advisory is about the package when one of its affected entries names the package (exact name)
/// in an ecosystem that <see cref="OsvEcosystem.Covers"/> the host's (same distribution, same or no release).
/// Only those entries are evaluated, in the version order of the host's ecosystem.</para>
/// <para>State, first that holds: <b>fixed-live</b> when the live patches close it; <b>fixed-installed</b> when the
/// live and installed patches together would; else <b>open</b>. Patches close an advisory when (a) they declare its
/// own id or one of its non-CVE aliases (the same vulnerability under another name), or (b) they declare every one
/// of its CVE ids, or (c) the highest kernel level among them is a version the advisory does not affect. Rule (b)
/// asks for every CVE id, not one: a distribution notice (DSA, USN, ALSA) lists many CVEs, and a patch for one
/// of them leaves the others open.</para>
/// </summary>
public static class PostureEvaluator
{
    /// <param name="advisories">The advisories in force.</param>
    /// <param name="package">The running kernel's package (<see cref="KernelPackage.TryIdentify"/>).</param>
    /// <param name="versionOrder">
    /// The version order of an ecosystem, called once with <see cref="KernelPackage.Ecosystem"/> as written
    /// (<c>Debian:12</c>); null when the ecosystem's order is unknown, which makes the posture unknown.
    /// </param>
    /// <param name="patches">Every patch on the host with its claims; the order does not matter.</param>
    public static KernelPosture Evaluate(
        AdvisorySet advisories,
        KernelPackage package,
        Func<string, IComparer<string>?> versionOrder,
        IEnumerable<PatchClaim> patches)
    {
        if (versionOrder(package.Ecosystem) is not { } order)
        {
            return KernelPosture.Unknown($"no version order is known for the ecosystem {DisplayText.Quote(package.Ecosystem)}", package);
        }

        var running = package.Version;
        var host = package.ParsedEcosystem;
        var claims = patches.ToList();
        var notes = new List<string>();
        var live = new PatchGroup(claims.Where(c => c.Live), running, order, notes);
        var pending = new PatchGroup(claims.Where(c => !c.Live && c.Installed), running, order, notes);

        var items = new List<PostureItem>();
        var unevaluated = new List<UnevaluatedAdvisory>();
        var notAffected = 0;
        foreach (var advisory in advisories.About(host, package.Name))
        {
            var entries = advisory.Affected
                .Where(a => a.Package is { } p && p.Name == package.Name && OsvEcosystem.Parse(p.Ecosystem).Covers(host))
                .ToList();
            if (entries.Count == 0)
            {
                // The same package name in another release of the distribution.
                continue;
            }

            var versions = new AffectedVersions(entries, order);
            if (!versions.CanEvaluate)
            {
                unevaluated.Add(new UnevaluatedAdvisory(advisory.Id, $"no ECOSYSTEM range or version list for {package.Name} in {host}"));
                continue;
            }

            try
            {
                if (!versions.IsAffected(running))
                {
                    notAffected++;
                    continue;
                }

                items.Add(Item(advisory, entries, versions, live, pending, running));
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or OverflowException)
            {
                unevaluated.Add(new UnevaluatedAdvisory(advisory.Id, $"its versions cannot be compared in the {package.Ecosystem} order: {e.Message}"));
            }
        }

        items.Sort((a, b) =>
            a.State != b.State ? a.State.CompareTo(b.State)
            : a.Severity != b.Severity ? b.Severity.CompareTo(a.Severity)
            : string.CompareOrdinal(a.AdvisoryId, b.AdvisoryId));
        return new KernelPosture
        {
            Package = package,
            Summary = Summarize(items, notAffected, unevaluated.Count, live, running, order),
            Items = items.ToValueArray(),
            Unevaluated = unevaluated.ToValueArray(),
            Notes = notes.ToValueArray(),
        };
    }

    private static PostureItem Item(
        OsvAdvisory advisory,
        List<OsvAffected> entries,
        AffectedVersions versions,
        PatchGroup live,
        PatchGroup pending,
        string running)
    {
        var cves = advisory.CveIds;
        var names = Enumerable.Concat([advisory.Id], advisory.Aliases)
            .Where(id => CveId.Extract(id) is null)
            .Select(id => id.ToUpperInvariant())
            .ToList();

        var liveLevelCloses = live.Level is { } liveLevel && !versions.IsAffected(liveLevel.Version);
        var pendingLevelCloses = pending.Level is { } pendingLevel && !versions.IsAffected(pendingLevel.Version);
        var state =
            liveLevelCloses || Closes(names, cves, live.Declares) ? PostureState.FixedLive
            : pendingLevelCloses || Closes(names, cves, id => live.Declares(id) || pending.Declares(id)) ? PostureState.FixedInstalled
            : PostureState.Open;

        var fixes = new SortedSet<PatchFix>(Comparer<PatchFix>.Create((a, b) =>
            a.Patch != b.Patch ? string.CompareOrdinal(a.Patch, b.Patch) : a.Evidence.CompareTo(b.Evidence)));
        var groups = state == PostureState.FixedLive ? [live] : new[] { live, pending };
        foreach (var group in groups)
        {
            foreach (var id in names.Concat(cves))
            {
                foreach (var claim in group.Declaring(id))
                {
                    fixes.Add(new PatchFix(claim.Name, claim.Source, FixEvidence.DeclaredId));
                }
            }
        }

        if (liveLevelCloses)
        {
            fixes.Add(new PatchFix(live.Level!.Claim.Name, live.Level.Claim.Source, FixEvidence.KernelLevel));
        }

        if (pendingLevelCloses && state == PostureState.FixedInstalled)
        {
            fixes.Add(new PatchFix(pending.Level!.Claim.Name, pending.Level.Claim.Source, FixEvidence.KernelLevel));
        }

        return new PostureItem(
            advisory.Id,
            cves.ToValueArray(),
            Rate(advisory, entries),
            advisory.Headline,
            state,
            fixes.ToValueArray(),
            versions.LowestFixAbove(running));
    }

    private static bool Closes(List<string> names, ImmutableArray<string> cves, Func<string, bool> declared) =>
        names.Any(declared) || (!cves.IsEmpty && cves.All(declared));

    /// <summary>
    /// The distribution's word on the matched entries, else on the record, else the highest CVSS band of either:
    /// the words are per package where producers give them per package (Ubuntu, Debian).
    /// </summary>
    private static Severity Rate(OsvAdvisory advisory, List<OsvAffected> entries)
    {
        var rating = entries.Aggregate(default(SeverityRating), (r, e) => r.Max(e.Rating));
        return rating.Vendor != Severity.Unknown
            ? rating.Vendor
            : rating.Max(advisory.Rating).Effective;
    }

    private static PostureSummary Summarize(
        List<PostureItem> items,
        int notAffected,
        int unevaluated,
        PatchGroup live,
        string running,
        IComparer<string> order)
    {
        var open = items.Where(i => i.State == PostureState.Open).ToList();
        var bySeverity = open.Aggregate(default(SeverityCounts), (counts, i) => counts.Add(i.Severity));
        return new PostureSummary
        {
            FixedLive = items.Count(i => i.State == PostureState.FixedLive),
            FixedInstalled = items.Count(i => i.State == PostureState.FixedInstalled),
            Open = open.Count,
            NotAffected = notAffected,
            Unevaluated = unevaluated,
            OpenBySeverity = bySeverity,
            HighestOpen = open.Count == 0 ? null : open.Max(i => i.Severity),
            EffectiveLevel = live.Level?.Version ?? running,
            EffectiveLevelPatch = live.Level?.Claim.Name,
            RebootTarget = Highest(open, order),
            OpenWithoutFix = open.Count(i => i.FixedVersion is null),
            RebootTargetWithoutPatches = Highest(items, order),
            AffectedWithoutFix = items.Count(i => i.FixedVersion is null),
        };
    }

    private static string? Highest(List<PostureItem> items, IComparer<string> order) =>
        items.Select(i => i.FixedVersion).OfType<string>().Order(order).LastOrDefault();

    /// <summary>The claims of the live patches, or of the installed ones that are not live, indexed by declared id.</summary>
    private sealed class PatchGroup
    {
        private readonly Dictionary<string, List<PatchClaim>> _byId = new(StringComparer.Ordinal);

        public PatchGroup(IEnumerable<PatchClaim> claims, string running, IComparer<string> order, List<string> notes)
        {
            foreach (var claim in claims.OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                foreach (var id in claim.CveIds.Select(CveId.Normalize).Distinct(StringComparer.Ordinal))
                {
                    if (!_byId.TryGetValue(id, out var list))
                    {
                        _byId[id] = list = [];
                    }

                    list.Add(claim);
                }

                if (claim.KernelLevel is not { } level)
                {
                    continue;
                }

                try
                {
                    if (order.Compare(level, running) > 0 && (Level is null || order.Compare(level, Level.Version) > 0))
                    {
                        Level = new CarriedLevel(level, claim);
                    }
                }
                catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or OverflowException)
                {
                    notes.Add($"patch {claim.Name}: its kernel level {DisplayText.Quote(level)} cannot be compared with {running}, so it is not used: {e.Message}");
                }
            }
        }

        /// <summary>The highest level above the running version among the group, and its patch.</summary>
        public CarriedLevel? Level { get; }

        public bool Declares(string id) => _byId.ContainsKey(id);

        public List<PatchClaim> Declaring(string id) => _byId.TryGetValue(id, out var list) ? list : [];
    }

    private sealed record CarriedLevel(string Version, PatchClaim Claim);
}

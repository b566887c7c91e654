using System.Collections.Frozen;
using System.Collections.Immutable;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// The advisories in force: one copy per id, withdrawn ones removed, indexed by (ecosystem name, package name) so that
/// an evaluation looks at the kernel package's advisories only, whatever else the directory holds. Immutable; the
/// daemon builds a new set when the directory changes.
/// </summary>
public sealed class AdvisorySet
{
    private readonly FrozenDictionary<string, ImmutableArray<OsvAdvisory>> _byPackage;

    private AdvisorySet(
        ImmutableArray<OsvAdvisory> advisories,
        ImmutableArray<AdvisoryProblem> problems,
        ImmutableArray<AdvisoryFile> files,
        int duplicates,
        int withdrawn)
    {
        Advisories = advisories;
        Problems = problems;
        Files = files;
        Duplicates = duplicates;
        Withdrawn = withdrawn;
        _byPackage = Index(advisories);
    }

    public static AdvisorySet Empty { get; } = Create([]);

    /// <summary>Every advisory in force, ordered by id.</summary>
    public ImmutableArray<OsvAdvisory> Advisories { get; }

    /// <summary>Files (or the directory) that could not be used, and why.</summary>
    public ImmutableArray<AdvisoryProblem> Problems { get; }

    /// <summary>The files that were read, in name order.</summary>
    public ImmutableArray<AdvisoryFile> Files { get; }

    /// <summary>Copies dropped because another copy of the same id was modified later.</summary>
    public int Duplicates { get; }

    /// <summary>Ids dropped because their newest copy is withdrawn.</summary>
    public int Withdrawn { get; }

    /// <summary>
    /// The set of <paramref name="advisories"/>, given in load order (file name order, then order in the file).
    /// One copy per id (ids compare exactly, as OSV ids are case-sensitive): the copy with the later
    /// <c>modified</c> wins, as it is the producer's newer statement; on equal <c>modified</c>, the one loaded later
    /// wins, so that the result does not depend on anything but file names. Then ids whose winning copy is withdrawn
    /// are dropped.
    /// </summary>
    public static AdvisorySet Create(
        IEnumerable<OsvAdvisory> advisories,
        IEnumerable<AdvisoryProblem>? problems = null,
        IEnumerable<AdvisoryFile>? files = null)
    {
        var byId = new Dictionary<string, OsvAdvisory>(StringComparer.Ordinal);
        var duplicates = 0;
        foreach (var advisory in advisories)
        {
            if (byId.TryGetValue(advisory.Id, out var previous))
            {
                duplicates++;
                if (advisory.Modified < previous.Modified)
                {
                    continue;
                }
            }

            byId[advisory.Id] = advisory;
        }

        var inForce = byId.Values.Where(a => !a.IsWithdrawn).OrderBy(a => a.Id, StringComparer.Ordinal).ToImmutableArray();
        return new AdvisorySet(inForce, [.. problems ?? []], [.. files ?? []], duplicates, byId.Count - inForce.Length);
    }

    /// <summary>
    /// The advisories with at least one affected entry for <paramref name="package"/> in an ecosystem of the same
    /// name as <paramref name="ecosystem"/> (any release: the caller checks the release per entry).
    /// </summary>
    internal ImmutableArray<OsvAdvisory> About(OsvEcosystem ecosystem, string package) =>
        _byPackage.TryGetValue(Key(ecosystem.Name, package), out var found) ? found : [];

    private static FrozenDictionary<string, ImmutableArray<OsvAdvisory>> Index(ImmutableArray<OsvAdvisory> advisories)
    {
        var index = new Dictionary<string, List<OsvAdvisory>>(StringComparer.Ordinal);
        foreach (var advisory in advisories)
        {
            foreach (var entry in advisory.Affected)
            {
                if (entry.Package is not { } package)
                {
                    continue;
                }

                var key = Key(OsvEcosystem.Parse(package.Ecosystem).Name, package.Name);
                if (!index.TryGetValue(key, out var list))
                {
                    index[key] = list = [];
                }

                // Entries of one advisory are consecutive here, so a repeat is always the list's last item.
                if (list.Count == 0 || !ReferenceEquals(list[^1], advisory))
                {
                    list.Add(advisory);
                }
            }
        }

        return index.ToFrozenDictionary(p => p.Key, p => p.Value.ToImmutableArray(), StringComparer.Ordinal);
    }

    /// <summary>Ecosystem names compare without case (producers differ); package names exactly.</summary>
    private static string Key(string ecosystemName, string package) => ecosystemName.ToUpperInvariant() + "\n" + package;
}

using System.Collections.Immutable;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// The affected entries of one advisory that are about the host's package, answering "is this version affected?"
/// in the package's version order, as the OSV schema defines it: a version is affected when an entry lists it in
/// <c>versions</c> (exact string) or an ECOSYSTEM range contains it. A range is walked with its events sorted by
/// version ("0" first): an <c>introduced</c> at or below the version turns it on, a <c>fixed</c> at or below turns it
/// off, a <c>last_affected</c> below turns it off; <c>limit</c> events, when there are any other than "*", exclude
/// versions at or above every limit. GIT and SEMVER ranges are not evaluated.
/// </summary>
internal sealed class AffectedVersions
{
    private readonly IComparer<string> _order;
    private readonly ImmutableArray<ImmutableArray<string>> _versionLists;
    private readonly ImmutableArray<SortedRange> _ranges;

    public AffectedVersions(IEnumerable<OsvAffected> entries, IComparer<string> order)
    {
        _order = order;
        var versionLists = ImmutableArray.CreateBuilder<ImmutableArray<string>>();
        var ranges = ImmutableArray.CreateBuilder<SortedRange>();
        foreach (var entry in entries)
        {
            if (!entry.Versions.IsEmpty)
            {
                versionLists.Add(entry.Versions);
            }

            foreach (var range in entry.Ranges)
            {
                if (range.IsEcosystem)
                {
                    ranges.Add(Sort(range));
                }
            }
        }

        _versionLists = versionLists.ToImmutable();
        _ranges = ranges.ToImmutable();
    }

    /// <summary>False when no entry has an ECOSYSTEM range or a version list: nothing can be said.</summary>
    public bool CanEvaluate => !_versionLists.IsEmpty || !_ranges.IsEmpty;

    public bool IsAffected(string version)
    {
        foreach (var list in _versionLists)
        {
            if (list.Contains(version, StringComparer.Ordinal))
            {
                return true;
            }
        }

        foreach (var range in _ranges)
        {
            if (InRange(range, version))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The lowest <c>fixed</c> version above <paramref name="version"/> that is itself not affected (a fix in one
    /// range can sit inside another range); null when there is none.
    /// </summary>
    public string? LowestFixAbove(string version)
    {
        var candidates = _ranges
            .SelectMany(r => r.Events)
            .Where(e => e.Kind == OsvEventKind.Fixed && _order.Compare(e.Version, version) > 0)
            .Select(e => e.Version)
            .Distinct(StringComparer.Ordinal)
            .Order(_order);
        foreach (var candidate in candidates)
        {
            if (!IsAffected(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private bool InRange(SortedRange range, string version)
    {
        var affected = false;
        foreach (var e in range.Events)
        {
            switch (e.Kind)
            {
                case OsvEventKind.Introduced when IsZero(e) || _order.Compare(version, e.Version) >= 0:
                    affected = true;
                    break;
                case OsvEventKind.Fixed when _order.Compare(version, e.Version) >= 0:
                    affected = false;
                    break;
                case OsvEventKind.LastAffected when _order.Compare(version, e.Version) > 0:
                    affected = false;
                    break;
                default:
                    break;
            }
        }

        return affected && (range.Limits.IsEmpty || range.Limits.Any(limit => _order.Compare(version, limit) < 0));
    }

    private SortedRange Sort(OsvRange range)
    {
        var events = range.Events.Where(e => e.Kind != OsvEventKind.Limit).ToList();
        // "0" is below every version; everything else in the package's order. Stable, so events of equal versions
        // keep the producer's order.
        var sorted = events.OrderBy(e => e, Comparer<OsvEvent>.Create((a, b) => (IsZero(a), IsZero(b)) switch
        {
            (true, true) => 0,
            (true, false) => -1,
            (false, true) => 1,
            _ => _order.Compare(a.Version, b.Version),
        }));
        var limits = range.Events.Where(e => e.Kind == OsvEventKind.Limit && e.Version != "*").Select(e => e.Version);
        return new SortedRange([.. sorted], [.. limits]);
    }

    private static bool IsZero(OsvEvent e) => e.Kind == OsvEventKind.Introduced && e.Version == "0";

    private sealed record SortedRange(ImmutableArray<OsvEvent> Events, ImmutableArray<string> Limits);
}

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// An OSV ecosystem string split into the distribution and its release: <c>Debian:12</c> is (Debian, 12),
/// <c>Ubuntu:Pro:22.04:LTS</c> is (Ubuntu, 22.04), <c>Red Hat:enterprise_linux:9::baseos</c> is (Red Hat, 9),
/// <c>Debian</c> is (Debian, no release). The release is the first colon-separated part after the name that starts
/// with a digit, so the qualifiers around it (Pro, LTS, the Red Hat product and repository) do not matter.
/// </summary>
public readonly record struct OsvEcosystem(string Name, string? Release)
{
    public static OsvEcosystem Parse(string ecosystem)
    {
        var parts = ecosystem.Split(':');
        string? release = null;
        foreach (var part in parts.AsSpan(1))
        {
            if (part.Length > 0 && char.IsAsciiDigit(part[0]))
            {
                release = part;
                break;
            }
        }

        return new OsvEcosystem(parts[0].Trim(), release);
    }

    /// <summary>
    /// Whether an advisory entry in this ecosystem is about a host in <paramref name="host"/>: the same distribution
    /// (ignoring case, as producers differ) and either no release (it applies to every release) or the same release.
    /// A different release never matches: its package versions are another branch (a Debian 11 fix version says
    /// nothing about Debian 12, and Red Hat's EUS stream <c>9.2</c> is not the main stream <c>9</c>).
    /// </summary>
    public bool Covers(OsvEcosystem host) =>
        string.Equals(Name, host.Name, StringComparison.OrdinalIgnoreCase)
        && (Release is null || string.Equals(Release, host.Release, StringComparison.Ordinal));

    public override string ToString() => Release is null ? Name : $"{Name}:{Release}";
}

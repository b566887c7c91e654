namespace LivePatchAgent.Core.Posture;

/// <summary>
/// Which version ordering an OSV ecosystem's ECOSYSTEM ranges use. An advisory's "introduced" and "fixed" versions
/// mean nothing without it: "2.0.beta" is older than "2.0.1" for rpm and newer for dpkg, and "1.0" equals "1_0" only
/// for rpm.
/// </summary>
public static class VersionOrder
{
    /// <summary>The name <see cref="SchemeOf"/> gives dpkg's ordering.</summary>
    public const string DpkgScheme = "dpkg";

    /// <summary>The name <see cref="SchemeOf"/> gives rpm's ordering.</summary>
    public const string RpmScheme = "rpm";

    /// <summary>Debian's and Ubuntu's families.</summary>
    private static readonly HashSet<string> DpkgFamilies = new(StringComparer.Ordinal) { "Debian", "Ubuntu" };

    /// <summary>
    /// The OSV ecosystems of RPM-based distributions, whose records state rpm EVRs (the schema says so for openSUSE
    /// and SUSE: "the RPM versioncompare ordering").
    /// </summary>
    private static readonly HashSet<string> RpmFamilies = new(StringComparer.Ordinal)
    {
        "AlmaLinux", "Azure Linux", "Mageia", "openEuler", "openSUSE", "Photon OS", "Red Hat", "Rocky Linux", "SUSE",
    };

    /// <summary>Orders version strings as <see cref="DebianVersion.Compare(string, string)"/> does.</summary>
    public static IComparer<string> Dpkg { get; } = Comparer<string>.Create(DebianVersion.Compare);

    /// <summary>Orders EVR strings as <see cref="RpmVersion.Compare(string, string)"/> does.</summary>
    public static IComparer<string> Rpm { get; } = Comparer<string>.Create(RpmVersion.Compare);

    /// <summary>
    /// The ordering of an OSV ecosystem such as "Debian:12", "Ubuntu:Pro:18.04:LTS" or "Rocky Linux:9", or null when
    /// it is not one of the dpkg or rpm ecosystems (Alpine, PyPI, an unknown name, ...). The ecosystem is matched
    /// by its family, the part before the first ':', exactly: OSV ecosystem names are case-sensitive.
    /// The comparers throw <see cref="FormatException"/> for a version their tool refuses.
    /// </summary>
    public static IComparer<string>? ForEcosystem(string ecosystem) => SchemeOf(ecosystem) switch
    {
        DpkgScheme => Dpkg,
        RpmScheme => Rpm,
        _ => null,
    };

    /// <summary>"dpkg", "rpm" or null, as <see cref="ForEcosystem"/> decides, for showing which ordering was used.</summary>
    public static string? SchemeOf(string ecosystem)
    {
        ArgumentNullException.ThrowIfNull(ecosystem);
        var colon = ecosystem.IndexOf(':', StringComparison.Ordinal);
        var family = colon >= 0 ? ecosystem[..colon] : ecosystem;
        if (DpkgFamilies.Contains(family))
        {
            return DpkgScheme;
        }

        return RpmFamilies.Contains(family) ? RpmScheme : null;
    }
}

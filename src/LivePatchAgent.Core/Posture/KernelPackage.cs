using System.Diagnostics.CodeAnalysis;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// The distribution package the running kernel came from, named as OSV advisories name it: the ecosystem
/// (<c>Debian:12</c>), the source package (<c>linux</c>, <c>kernel</c>) and its version (<c>6.1.192-2</c>). A record,
/// so the daemon can override a field an operator knows better (<c>package with { Name = "linux-hwe-6.8" }</c>).
/// </summary>
/// <param name="Ecosystem">The OSV ecosystem of the host's release; advisories match it by <see cref="OsvEcosystem.Covers"/>.</param>
/// <param name="Name">The source package as the ecosystem's advisories name it.</param>
/// <param name="Version">The running package version, in the ecosystem's version syntax.</param>
public sealed record KernelPackage(string Ecosystem, string Name, string Version)
{
    private static readonly string[] RpmArchitectures = [".x86_64", ".aarch64", ".ppc64le", ".s390x", ".i686"];

    /// <summary>What the identification could not be sure of, in words for the operator; null when nothing.</summary>
    public string? Caveat { get; init; }

    public OsvEcosystem ParsedEcosystem => OsvEcosystem.Parse(Ecosystem);

    /// <summary>
    /// Works out the package from what the kernel and the distribution say about themselves. Pure: the daemon
    /// reads the files and passes their text.
    /// </summary>
    /// <param name="kernelRelease"><c>/proc/sys/kernel/osrelease</c> (uname -r): <c>6.1.0-26-amd64</c>, <c>5.14.0-362.8.1.el9_3.x86_64</c>.</param>
    /// <param name="kernelVersion"><c>/proc/sys/kernel/version</c> (uname -v): Debian's names the package version.</param>
    /// <param name="osRelease">The text of <c>/etc/os-release</c>.</param>
    /// <param name="versionSignature">The text of Ubuntu's <c>/proc/version_signature</c>, or null where there is none.</param>
    /// <param name="package">The package, when this returns true.</param>
    /// <param name="reason">Why no package could be named; shown as "unknown kernel package: reason".</param>
    public static bool TryIdentify(
        string kernelRelease,
        string kernelVersion,
        string osRelease,
        string? versionSignature,
        [NotNullWhen(true)] out KernelPackage? package,
        [NotNullWhen(false)] out string? reason)
    {
        var os = OsRelease.Parse(osRelease);
        var release = kernelRelease.Trim();
        var version = kernelVersion.Trim();
        package = null;
        reason = os.Id switch
        {
            null => "/etc/os-release names no distribution (no ID)",
            "debian" => Debian(version, os, out package),
            "ubuntu" => Ubuntu(release, version, versionSignature?.Trim(), os, out package),
            "almalinux" => EnterpriseLinux(release, os, "AlmaLinux:{0}", out package),
            "rocky" => EnterpriseLinux(release, os, "Rocky Linux:{0}", out package),
            "rhel" => EnterpriseLinux(release, os, "Red Hat:enterprise_linux:{0}::baseos", out package),
            _ => Unknown(os),
        };
        return package is not null;
    }

    /// <summary>
    /// Only the distribution itself is recognised, never a derivative through ID_LIKE: derivatives (Proxmox,
    /// Pop!_OS, Oracle Linux, Linux Mint with its own kernels) ship their own kernel builds, whose versions the parent's
    /// advisories do not describe.
    /// </summary>
    private static string Unknown(OsRelease os) =>
        os.IdLike.Count == 0
            ? $"no OSV ecosystem is known for the distribution {DisplayText.Quote(os.Id!)}"
            : $"no OSV ecosystem is known for the distribution {DisplayText.Quote(os.Id!)}; it is like {DisplayText.Quote(string.Join(' ', os.IdLike))}, but a derivative's kernel is its own build, which the parent's advisories do not describe";

    /// <summary>
    /// Debian's kernel version text names the package version: <c>#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-10-11)</c>.
    /// The source package is <c>linux</c> whatever the flavour (amd64, cloud-amd64, rt-amd64).
    /// </summary>
    private static string? Debian(string kernelVersion, OsRelease os, out KernelPackage? package)
    {
        package = null;
        if (os.VersionId is not { } release)
        {
            return "Debian without VERSION_ID (testing or unstable) has no OSV release to match advisories against";
        }

        var tokens = kernelVersion.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.IndexOf(tokens, "Debian");
        if (at < 0 || at + 1 >= tokens.Length || !char.IsAsciiDigit(tokens[at + 1][0]))
        {
            return $"the kernel version {DisplayText.Quote(kernelVersion)} names no Debian package version; the kernel was not built by Debian";
        }

        var version = tokens[at + 1];
        package = new KernelPackage($"Debian:{release}", "linux", version)
        {
            Caveat = version.Contains("~bpo", StringComparison.Ordinal)
                ? $"a backports kernel: Debian:{release} advisories describe the release's own linux package, whose versions a backports version is not in line with"
                : null,
        };
        return null;
    }

    /// <summary>
    /// Ubuntu: the release is <c>upstream-abi-flavour</c> (<c>5.15.0-119-generic</c>); the package version is
    /// <c>upstream-abi.upload</c> (<c>5.15.0-119.129</c>), with a <c>~20.04.1</c> suffix for a kernel backported from
    /// a later release. /proc/version_signature states it (<c>Ubuntu 5.15.0-119.129-generic 5.15.160</c>); without
    /// it, the upload is the build number of the version text (<c>#129-Ubuntu SMP</c>, or <c>#44~20.04.1-Ubuntu</c>),
    /// which Ubuntu's build sets to the upload number.
    /// </summary>
    private static string? Ubuntu(string kernelRelease, string kernelVersion, string? versionSignature, OsRelease os, out KernelPackage? package)
    {
        package = null;
        if (os.VersionId is not { } release)
        {
            return "Ubuntu without VERSION_ID has no OSV release to match advisories against";
        }

        // upstream-abi-flavour: 5.15.0-119-generic, 6.8.0-1015-aws, 5.15.0-1066-azure-fde.
        var parts = kernelRelease.Split('-', 3);
        if (parts.Length != 3 || !char.IsAsciiDigit(parts[0][0]) || parts[1].Length == 0 || !parts[1].All(char.IsAsciiDigit))
        {
            return $"the kernel release {DisplayText.Quote(kernelRelease)} is not an Ubuntu kernel release (upstream-abi-flavour)";
        }

        var (upstream, abi, flavour) = (parts[0], parts[1], parts[2]);
        string? version = null;
        string? caveat = null;
        if (versionSignature is not null)
        {
            // "Ubuntu 5.15.0-119.129-generic 5.15.160": the second word is the version, then "-" and the flavour.
            var words = versionSignature.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 2 && words[0] == "Ubuntu" && words[1].EndsWith("-" + flavour, StringComparison.Ordinal)
                && words[1].StartsWith($"{upstream}-{abi}.", StringComparison.Ordinal))
            {
                version = words[1][..^(flavour.Length + 1)];
            }
            else
            {
                caveat = $"/proc/version_signature {DisplayText.Quote(versionSignature)} does not match the kernel release; the version was taken from the kernel version text";
            }
        }

        if (version is null)
        {
            var hash = kernelVersion.StartsWith('#') ? kernelVersion.IndexOf("-Ubuntu", StringComparison.Ordinal) : -1;
            if (hash < 0)
            {
                return $"the kernel version {DisplayText.Quote(kernelVersion)} is not an Ubuntu build (#upload-Ubuntu), and /proc/version_signature was not available";
            }

            version = $"{upstream}-{abi}.{kernelVersion[1..hash]}";
            caveat ??= versionSignature is null ? "/proc/version_signature was not available; the version was taken from the kernel version text" : null;
        }

        var name = UbuntuSourcePackage(flavour, upstream, backport: version.Contains('~', StringComparison.Ordinal), release);
        var lts = os.Version?.Contains("LTS", StringComparison.Ordinal) == true ? ":LTS" : "";
        if (name != "linux")
        {
            var inferred = $"the source package {name} was inferred from the flavour {DisplayText.Quote(flavour)}";
            caveat = caveat is null ? inferred : $"{caveat}; {inferred}";
        }

        package = new KernelPackage($"Ubuntu:{release}{lts}", name, version) { Caveat = caveat };
        return null;
    }

    /// <summary>
    /// Ubuntu's kernel source packages by flavour, as Ubuntu names them: generic (and its 64k and lpae builds) come
    /// from <c>linux</c>, or <c>linux-hwe-X.Y</c> when backported; lowlatency from <c>linux-lowlatency</c> since 22.04
    /// (<c>linux-lowlatency-hwe-X.Y</c> when backported), before from <c>linux</c>; every other flavour (aws, azure,
    /// gcp, oracle, kvm, raspi, ...) from <c>linux-flavour</c>, with <c>-X.Y</c> when backported. An inference,
    /// hence the caveat: the daemon can override the name.
    /// </summary>
    private static string UbuntuSourcePackage(string flavour, string upstream, bool backport, string release)
    {
        var series = string.Join('.', upstream.Split('.').Take(2));
        var baseFlavour = flavour.EndsWith("-64k", StringComparison.Ordinal) ? flavour[..^4] : flavour;
        var modernLowlatency = string.CompareOrdinal(release, "22.04") >= 0;
        return baseFlavour switch
        {
            "generic" or "generic-lpae" => backport ? $"linux-hwe-{series}" : "linux",
            "lowlatency" when modernLowlatency => backport ? $"linux-lowlatency-hwe-{series}" : "linux-lowlatency",
            "lowlatency" => backport ? $"linux-hwe-{series}" : "linux",
            _ => backport ? $"linux-{baseFlavour}-{series}" : $"linux-{baseFlavour}",
        };
    }

    /// <summary>
    /// AlmaLinux, Rocky Linux, RHEL: the release is the rpm's version-release and architecture
    /// (<c>5.14.0-362.8.1.el9_3.x86_64</c>, with <c>+rt</c>, <c>+debug</c> or <c>+64k</c> for variants built from
    /// the same source); the package is <c>kernel</c> (<c>kernel-rt</c> for the older separate real-time build,
    /// whose release has <c>.rt</c>), the ecosystem names the major release.
    /// </summary>
    private static string? EnterpriseLinux(string kernelRelease, OsRelease os, string ecosystemFormat, out KernelPackage? package)
    {
        package = null;
        if (os.VersionId is not { } versionId)
        {
            return $"{os.Id} without VERSION_ID has no OSV release to match advisories against";
        }

        var major = versionId.Split('.')[0];
        var version = kernelRelease;
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        if (plus > 0)
        {
            version = version[..plus];
        }

        foreach (var architecture in RpmArchitectures)
        {
            if (version.EndsWith(architecture, StringComparison.Ordinal))
            {
                version = version[..^architecture.Length];
                break;
            }
        }

        var el = version.LastIndexOf(".el", StringComparison.Ordinal);
        if (el < 0 || !version.Contains('-', StringComparison.Ordinal))
        {
            return $"the kernel release {DisplayText.Quote(kernelRelease)} is not a version-release.elN kernel rpm";
        }

        var elMajor = new string([.. version[(el + 3)..].TakeWhile(char.IsAsciiDigit)]);
        package = new KernelPackage(
            string.Format(System.Globalization.CultureInfo.InvariantCulture, ecosystemFormat, major),
            version.Contains(".rt", StringComparison.Ordinal) ? "kernel-rt" : "kernel",
            version)
        {
            Caveat = elMajor == major ? null : $"the kernel is an el{elMajor} build on release {versionId}; advisories for release {major} were used",
        };
        return null;
    }
}

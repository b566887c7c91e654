using LivePatchAgent.Core.Posture;

namespace LivePatchAgent.Unit.Tests.Posture;

public sealed class KernelPackageTests
{
    private const string Bookworm = """
        PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
        NAME="Debian GNU/Linux"
        VERSION_ID="12"
        VERSION="12 (bookworm)"
        VERSION_CODENAME=bookworm
        ID=debian
        HOME_URL="https://www.debian.org/"
        """;

    private const string Jammy = """
        PRETTY_NAME="Ubuntu 22.04.4 LTS"
        NAME="Ubuntu"
        VERSION_ID="22.04"
        VERSION="22.04.4 LTS (Jammy Jellyfish)"
        VERSION_CODENAME=jammy
        ID=ubuntu
        ID_LIKE=debian
        UBUNTU_CODENAME=jammy
        """;

    private const string Focal = """
        NAME="Ubuntu"
        VERSION="20.04.6 LTS (Focal Fossa)"
        ID=ubuntu
        ID_LIKE=debian
        VERSION_ID="20.04"
        """;

    private static KernelPackage Identify(string release, string version, string osRelease, string? signature = null)
    {
        Assert.True(KernelPackage.TryIdentify(release, version, osRelease, signature, out var package, out var reason), reason);
        return package;
    }

    private static string Refusal(string release, string version, string osRelease, string? signature = null)
    {
        Assert.False(KernelPackage.TryIdentify(release, version, osRelease, signature, out var package, out var reason));
        Assert.Null(package);
        return reason;
    }

    [Fact]
    public void Debian_names_its_package_version_in_the_kernel_version_text()
    {
        var package = Identify("6.1.0-26-amd64\n", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-10-11)\n", Bookworm);

        Assert.Equal(new KernelPackage("Debian:12", "linux", "6.1.192-2"), package);
        Assert.Null(package.Caveat);
        Assert.Equal(new OsvEcosystem("Debian", "12"), package.ParsedEcosystem);
    }

    [Theory]
    [InlineData("#1 SMP PREEMPT_DYNAMIC Debian 6.1.129-1+deb12u1 (2025-03-01)", "6.1.129-1+deb12u1")]
    [InlineData("#1 SMP Debian 5.10.226-1 (2024-10-03)", "5.10.226-1")]
    [InlineData("#1 SMP PREEMPT_RT Debian 6.1.192-2 (2026-10-11)", "6.1.192-2")]
    public void Debian_security_and_other_flavours_give_the_version_as_written(string kernelVersion, string version) =>
        Assert.Equal(version, Identify("6.1.0-26-rt-amd64", kernelVersion, Bookworm).Version);

    [Fact]
    public void A_debian_backports_kernel_is_identified_with_a_caveat()
    {
        var package = Identify("6.12.9+bpo-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.9-1~bpo12+1 (2025-01-19)", Bookworm);

        Assert.Equal("6.12.9-1~bpo12+1", package.Version);
        Assert.Equal("linux", package.Name);
        Assert.Contains("backports", package.Caveat, StringComparison.Ordinal);
    }

    [Fact]
    public void Debian_without_a_release_or_without_a_debian_build_is_unknown()
    {
        Assert.Contains("testing or unstable", Refusal("6.11.0-1-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.11.2-1 (2024-10-05)",
            "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\n"), StringComparison.Ordinal);
        Assert.Equal("the kernel version \"#1 SMP PREEMPT_DYNAMIC Mon Oct 14 10:00:00 UTC 2026\" names no Debian package version; the kernel was not built by Debian",
            Refusal("6.11.3", "#1 SMP PREEMPT_DYNAMIC Mon Oct 14 10:00:00 UTC 2026", Bookworm));
    }

    [Fact]
    public void Ubuntu_takes_the_version_from_version_signature()
    {
        var package = Identify("5.15.0-119-generic", "#129-Ubuntu SMP Fri Aug 2 19:25:20 UTC 2024", Jammy, "Ubuntu 5.15.0-119.129-generic 5.15.160\n");

        Assert.Equal(new KernelPackage("Ubuntu:22.04:LTS", "linux", "5.15.0-119.129"), package);
        Assert.Null(package.Caveat);
    }

    [Fact]
    public void Ubuntu_without_version_signature_uses_the_build_number_and_says_so()
    {
        var package = Identify("5.15.0-119-generic", "#129-Ubuntu SMP Fri Aug 2 19:25:20 UTC 2024", Jammy);

        Assert.Equal("5.15.0-119.129", package.Version);
        Assert.Contains("/proc/version_signature was not available", package.Caveat, StringComparison.Ordinal);
    }

    [Fact]
    public void A_version_signature_of_another_kernel_is_not_believed()
    {
        var package = Identify("5.15.0-119-generic", "#129-Ubuntu SMP Fri Aug 2 19:25:20 UTC 2024", Jammy, "Ubuntu 5.15.0-118.128-generic 5.15.158");

        Assert.Equal("5.15.0-119.129", package.Version);
        Assert.Contains("does not match the kernel release", package.Caveat, StringComparison.Ordinal);
    }

    [Theory]
    // A hardware enablement kernel backported to 20.04: the source package is linux-hwe-X.Y.
    [InlineData("5.15.0-119-generic", "#129~20.04.1-Ubuntu SMP", "Ubuntu 5.15.0-119.129~20.04.1-generic 5.15.160", Focal, "Ubuntu:20.04:LTS", "linux-hwe-5.15", "5.15.0-119.129~20.04.1")]
    [InlineData("5.15.0-119-generic", "#129~20.04.1-Ubuntu SMP", null, Focal, "Ubuntu:20.04:LTS", "linux-hwe-5.15", "5.15.0-119.129~20.04.1")]
    [InlineData("6.8.0-1015-aws", "#16-Ubuntu SMP Mon Aug 19 19:38:17 UTC 2024", null, "ID=ubuntu\nVERSION_ID=24.04\nVERSION=\"24.04.1 LTS (Noble Numbat)\"", "Ubuntu:24.04:LTS", "linux-aws", "6.8.0-1015.16")]
    [InlineData("5.15.0-1066-azure", "#75~20.04.1-Ubuntu SMP", null, Focal, "Ubuntu:20.04:LTS", "linux-azure-5.15", "5.15.0-1066.75~20.04.1")]
    [InlineData("5.15.0-119-lowlatency", "#129-Ubuntu SMP", null, Jammy, "Ubuntu:22.04:LTS", "linux-lowlatency", "5.15.0-119.129")]
    [InlineData("5.4.0-200-lowlatency", "#220-Ubuntu SMP", null, Focal, "Ubuntu:20.04:LTS", "linux", "5.4.0-200.220")]
    [InlineData("6.8.0-45-generic-64k", "#45-Ubuntu SMP", null, "ID=ubuntu\nVERSION_ID=24.04\nVERSION=\"24.04.1 LTS (Noble Numbat)\"", "Ubuntu:24.04:LTS", "linux", "6.8.0-45.45")]
    [InlineData("6.11.0-8-generic", "#8-Ubuntu SMP", null, "ID=ubuntu\nVERSION_ID=\"24.10\"\nVERSION=\"24.10 (Oracular Oriole)\"", "Ubuntu:24.10", "linux", "6.11.0-8.8")]
    public void Ubuntu_flavours_map_to_their_source_packages(string release, string version, string? signature, string osRelease, string ecosystem, string name, string packageVersion)
    {
        var package = Identify(release, version, osRelease, signature);

        Assert.Equal(new KernelPackage(ecosystem, name, packageVersion), package with { Caveat = null });
        if (name != "linux")
        {
            Assert.Contains($"the source package {name} was inferred", package.Caveat, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Ubuntu_refuses_what_it_cannot_read()
    {
        Assert.Contains("is not an Ubuntu kernel release", Refusal("6.8.0", "#1 SMP", Jammy), StringComparison.Ordinal);
        Assert.Contains("is not an Ubuntu build", Refusal("6.8.0-45-generic", "#1 SMP PREEMPT_DYNAMIC", Jammy), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("5.14.0-362.8.1.el9_3.x86_64", "ID=\"almalinux\"\nVERSION_ID=\"9.3\"", "AlmaLinux:9", "kernel", "5.14.0-362.8.1.el9_3")]
    [InlineData("5.14.0-427.13.1.el9_4.aarch64+64k", "ID='rocky'\nVERSION_ID='9.4'", "Rocky Linux:9", "kernel", "5.14.0-427.13.1.el9_4")]
    [InlineData("5.14.0-427.13.1.el9_4.x86_64+rt", "ID=rocky\nVERSION_ID=9.4", "Rocky Linux:9", "kernel", "5.14.0-427.13.1.el9_4")]
    [InlineData("4.18.0-513.5.1.el8_9.x86_64", "ID=\"rhel\"\nVERSION_ID=\"8.9\"", "Red Hat:enterprise_linux:8::baseos", "kernel", "4.18.0-513.5.1.el8_9")]
    [InlineData("5.14.0-70.13.1.rt21.83.el9_0.x86_64", "ID=almalinux\nVERSION_ID=9.0", "AlmaLinux:9", "kernel-rt", "5.14.0-70.13.1.rt21.83.el9_0")]
    public void Enterprise_linux_kernels_are_the_kernel_rpm(string release, string osRelease, string ecosystem, string name, string version)
    {
        var package = Identify(release, "#1 SMP PREEMPT_DYNAMIC Thu Nov 9 08:10:17 EST 2023", osRelease);

        Assert.Equal(new KernelPackage(ecosystem, name, version), package);
        Assert.Null(package.Caveat);
    }

    [Fact]
    public void An_el8_kernel_on_release_9_is_flagged()
    {
        var package = Identify("4.18.0-513.5.1.el8_9.x86_64", "#1 SMP", "ID=almalinux\nVERSION_ID=9.3");

        Assert.Equal("AlmaLinux:9", package.Ecosystem);
        Assert.Equal("the kernel is an el8 build on release 9.3; advisories for release 9 were used", package.Caveat);
    }

    [Fact]
    public void Enterprise_linux_refuses_a_release_that_is_no_kernel_rpm() =>
        Assert.Contains("is not a version-release.elN kernel rpm", Refusal("6.6.0-custom", "#1 SMP", "ID=rocky\nVERSION_ID=9.4"), StringComparison.Ordinal);

    [Fact]
    public void A_derivative_is_not_taken_for_its_parent()
    {
        var reason = Refusal("6.9.3-76060903-generic", "#202405300957~1718348209~22.04~7817b67 SMP PREEMPT_DYNAMIC",
            "ID=pop\nID_LIKE=\"ubuntu debian\"\nVERSION_ID=\"22.04\"");

        Assert.Equal("no OSV ecosystem is known for the distribution \"pop\"; it is like \"ubuntu debian\", but a derivative's kernel is its own build, which the parent's advisories do not describe", reason);
    }

    [Fact]
    public void Other_distributions_and_an_empty_os_release_are_unknown()
    {
        Assert.Equal("no OSV ecosystem is known for the distribution \"arch\"", Refusal("6.11.3-arch1-1", "#1 SMP PREEMPT_DYNAMIC", "ID=arch\n"));
        Assert.Equal("/etc/os-release names no distribution (no ID)", Refusal("6.1.0-26-amd64", "#1 SMP", ""));
    }

    [Fact]
    public void Os_release_values_are_unquoted_as_the_shell_would()
    {
        var os = OsRelease.Parse("""
            # comment
            ID=debian
            NAME="Debian \"GNU\"/Linux"
            VERSION_ID='12'
            ID_LIKE="rhel  centos fedora"
            BROKEN
            EMPTY=
            PATH_LIKE="a\\b\$c"
            """);

        Assert.Equal("debian", os.Id);
        Assert.Equal("Debian \"GNU\"/Linux", os.Get("NAME"));
        Assert.Equal("12", os.VersionId);
        Assert.Equal(["rhel", "centos", "fedora"], os.IdLike);
        Assert.Null(os.Get("EMPTY"));
        Assert.Null(os.Get("BROKEN"));
        Assert.Equal("a\\b$c", os.Get("PATH_LIKE"));
    }
}

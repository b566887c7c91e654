using System.Text.Json;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// Security metadata (livepatch_cve, livepatch_summary, livepatch_level, livepatch_fixes_version in .modinfo) through
/// the real daemon and lpctl: verify, load, info, list, install and list --installed show it with its source —
/// "signed" under a trusted signature, "unsigned-modinfo" without one, "operator" for lpctl install --cve.
/// </summary>
public sealed class LpctlMetadataTests : SimulatedHostTests
{
    public LpctlMetadataTests()
        : base("lpctl-meta-")
    {
    }

    /// <summary>lp_unit declaring two made-up CVE ids (in reverse order), a summary, a level and a fixes version.</summary>
    private static byte[] WithMetadata(string name = "lp_unit", TestSigningKey? key = null, params string[] extra)
    {
        var image = new ModuleImage().With("name", name);
        image.StructModuleName = name;
        image.ModInfo.AddRange(
        [
            "livepatch_cve=CVE-2099-0002",
            "livepatch_cve=CVE-2099-0001",
            "livepatch_summary=made-up fix of the integration tests",
            "livepatch_level=5",
            "livepatch_fixes_version=6.1.999-1",
            .. extra,
        ]);
        var bytes = image.Build();
        return key is null ? bytes : key.Sign(bytes);
    }

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    private static void AssertSigned(JsonElement metadata)
    {
        Assert.Equal(["CVE-2099-0001", "CVE-2099-0002"], Strings(metadata.GetProperty("cveIds")));
        Assert.Equal("made-up fix of the integration tests", metadata.GetProperty("summary").GetString());
        Assert.Equal(5, metadata.GetProperty("level").GetInt32());
        Assert.Equal("6.1.999-1", metadata.GetProperty("fixesVersion").GetString());
        Assert.Equal("signed", metadata.GetProperty("metadataSource").GetString());
        Assert.All(metadata.GetProperty("sources").EnumerateObject(), p => Assert.Equal("signed", p.Value.GetString()));
    }

    [Fact]
    public async Task Verify_load_info_and_list_show_the_signed_metadata()
    {
        await using var daemon = await StartAsync();
        var file = Write("lp_unit.ko", WithMetadata(key: TestSigningKey.Trusted));

        var verify = await Lpctl(daemon, "-o", "json", "verify", file);
        var verifyTable = await Lpctl(daemon, "verify", file);
        var load = await Lpctl(daemon, "load", file);
        var info = await Lpctl(daemon, "-o", "json", "info", "lp_unit");
        var infoTable = await Lpctl(daemon, "info", "lp_unit");
        var list = await Lpctl(daemon, "-o", "json", "list");
        var listTable = await Lpctl(daemon, "list");

        Assert.True(verify.ExitCode == 0, verify.ToString());
        using (var document = JsonDocument.Parse(verify.Out))
        {
            var root = document.RootElement;
            var check = root.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "metadata");
            Assert.Equal("passed", check.GetProperty("result").GetString());
            Assert.EndsWith("signed: the trusted signature covers it", check.GetProperty("detail").GetString(), StringComparison.Ordinal);
            AssertSigned(root.GetProperty("module").GetProperty("metadata"));
        }

        Assert.True(verifyTable.ExitCode == 0, verifyTable.ToString());
        Assert.Matches("(?m)^CVEs: +CVE-2099-0001, CVE-2099-0002 \\(signed\\)$", verifyTable.Out);
        Assert.Matches("(?m)^Fixes: +6\\.1\\.999-1 \\(signed\\): carries the security fixes of that kernel package version$", verifyTable.Out);
        Assert.Matches("(?m)^metadata +pass +declares CVE-2099-0001, CVE-2099-0002; level 5; fixes of 6\\.1\\.999-1; a summary; signed", verifyTable.Out);
        Assert.True(load.ExitCode == 0, load.ToString());

        Assert.True(info.ExitCode == 0, info.ToString());
        using (var document = JsonDocument.Parse(info.Out))
        {
            AssertSigned(document.RootElement.GetProperty("patch").GetProperty("metadata"));
        }

        Assert.Matches("(?m)^CVEs: +CVE-2099-0001, CVE-2099-0002 \\(signed\\)$", infoTable.Out);
        Assert.Matches("(?m)^Level: +5 \\(signed\\)$", infoTable.Out);
        Assert.Matches("(?m)^Metadata: +signed: declared in the module's \\.modinfo, covered by a trusted signature$", infoTable.Out);
        using (var document = JsonDocument.Parse(list.Out))
        {
            AssertSigned(document.RootElement.GetProperty("patches")[0].GetProperty("metadata"));
        }

        Assert.Matches("(?m)^NAME +STATE +OBJECTS +FUNCTIONS +REPLACE +ORDER +REFCNT +TAINT +CVES +METADATA$", listTable.Out);
        Assert.Matches("(?m)^lp_unit +enabled .* 2 +signed$", listTable.Out);
    }

    [Fact]
    public async Task An_unsigned_module_shows_its_metadata_as_not_signed()
    {
        await using var daemon = await StartAsync("Verification:RequireSignature=false");
        var file = Write("lp_unit.ko", WithMetadata());

        var verify = await Lpctl(daemon, "-o", "json", "verify", file);
        var load = await Lpctl(daemon, "load", file);
        var info = await Lpctl(daemon, "-o", "json", "info", "lp_unit");
        var infoTable = await Lpctl(daemon, "info", "lp_unit");

        Assert.True(verify.ExitCode == 0, verify.ToString());
        using (var document = JsonDocument.Parse(verify.Out))
        {
            var module = document.RootElement.GetProperty("module");
            Assert.False(module.GetProperty("signature").GetProperty("present").GetBoolean());
            Assert.Equal("unsigned-modinfo", module.GetProperty("metadata").GetProperty("metadataSource").GetString());
            Assert.Equal(["CVE-2099-0001", "CVE-2099-0002"], Strings(module.GetProperty("metadata").GetProperty("cveIds")));
        }

        Assert.True(load.ExitCode == 0, load.ToString());
        using (var document = JsonDocument.Parse(info.Out))
        {
            var metadata = document.RootElement.GetProperty("patch").GetProperty("metadata");
            Assert.Equal("unsigned-modinfo", metadata.GetProperty("metadataSource").GetString());
            Assert.Equal("unsigned-modinfo", metadata.GetProperty("sources").GetProperty("cveIds").GetString());
        }

        Assert.Matches("(?m)^CVEs: +CVE-2099-0001, CVE-2099-0002 \\(unsigned-modinfo\\)$", infoTable.Out);
        Assert.Matches("(?m)^Metadata: +unsigned-modinfo: declared in the module's \\.modinfo, but no trusted signature covers it$", infoTable.Out);
    }

    [Fact]
    public async Task A_module_with_a_malformed_cve_id_is_refused_at_verify_and_load()
    {
        await using var daemon = await StartAsync();
        var image = new ModuleImage();
        image.ModInfo.Add("livepatch_cve=CVE-2024-12");
        var file = Write("lp_unit.ko", TestSigningKey.Trusted.Sign(image.Build()));

        var verify = await Lpctl(daemon, "verify", file);
        var load = await Lpctl(daemon, "-o", "json", "load", file);

        Assert.Equal(1, verify.ExitCode);
        Assert.Matches("(?m)^metadata +FAIL +module \"lp_unit\" declares invalid security metadata: livepatch_cve=\"CVE-2024-12\" is not a CVE id: .+\\(metadata-invalid\\)$", verify.Out);
        Assert.Matches("(?m)^Result: FAILED at check metadata \\(metadata-invalid\\)$", verify.Out);
        Assert.Equal(1, load.ExitCode);
        Assert.Contains("(metadata-invalid)", load.Error, StringComparison.Ordinal);
        Assert.Equal(0, Kernel.LoadCalls);
    }

    [Fact]
    public async Task Install_cve_is_operator_metadata_used_only_where_the_module_says_nothing()
    {
        await using var daemon = await StartAsync("Apply:AtStartup=false");
        var plain = new ModuleImage().With("name", "lp_plain");
        plain.StructModuleName = "lp_plain";
        var plainFile = Write("lp_plain.ko", TestSigningKey.Trusted.Sign(plain.Build()));
        var declaring = Write("lp_meta.ko", WithMetadata("lp_meta", TestSigningKey.Trusted));

        var installPlain = await Lpctl(daemon, "install", plainFile, "--cve", "CVE-2026-1234", "--cve", "CVE-2026-0042", "--now");
        var installDeclaring = await Lpctl(daemon, "install", declaring, "--cve", "CVE-2026-9999");
        var installed = await Lpctl(daemon, "-o", "json", "list", "--installed");
        var installedTable = await Lpctl(daemon, "list", "--installed");
        var info = await Lpctl(daemon, "-o", "json", "info", "lp_plain");

        Assert.True(installPlain.ExitCode == 0, installPlain.ToString());
        Assert.Matches("(?m)^CVEs: +CVE-2026-0042, CVE-2026-1234 \\(operator\\)$", installPlain.Out);
        Assert.Matches("(?m)^Metadata: +operator: given at lpctl install time, not part of the module$", installPlain.Out);
        Assert.True(installDeclaring.ExitCode == 0, installDeclaring.ToString());
        using (var document = JsonDocument.Parse(installed.Out))
        {
            var patches = document.RootElement.GetProperty("patches").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
            var plainMetadata = patches["lp_plain"].GetProperty("metadata");
            Assert.Equal("operator", plainMetadata.GetProperty("metadataSource").GetString());
            Assert.Equal(["CVE-2026-0042", "CVE-2026-1234"], Strings(plainMetadata.GetProperty("cveIds")));
            // The operator's ids stay in the manifest's own field, labelled as theirs by where they are.
            Assert.Equal(["CVE-2026-0042", "CVE-2026-1234"], Strings(patches["lp_plain"].GetProperty("cveIds")).Order(StringComparer.Ordinal));
            // The module declares CVE ids: they win, and the operator's are not mixed into a signed list.
            AssertSigned(patches["lp_meta"].GetProperty("metadata"));
            Assert.Equal(["CVE-2026-9999"], Strings(patches["lp_meta"].GetProperty("cveIds")));
        }

        Assert.Matches("(?m)^NAME +KERNEL +ORIGIN +LOADED +REPLACE +LEVEL +INSTALLED +SIGNER +METADATA +CVES$", installedTable.Out);
        Assert.Matches("(?m)^lp_meta +.* 5 +.* signed +CVE-2099-0001,CVE-2099-0002$", installedTable.Out);
        Assert.Matches("(?m)^lp_plain +.* operator +CVE-2026-0042,CVE-2026-1234$", installedTable.Out);
        using (var document = JsonDocument.Parse(info.Out))
        {
            // Loaded from the store with --now: the loaded patch carries the operator's metadata, still as operator.
            var metadata = document.RootElement.GetProperty("patch").GetProperty("metadata");
            Assert.Equal("operator", metadata.GetProperty("metadataSource").GetString());
            Assert.Equal(["CVE-2026-0042", "CVE-2026-1234"], Strings(metadata.GetProperty("cveIds")));
        }
    }

    [Fact]
    public async Task Install_refuses_a_malformed_operator_cve_id()
    {
        await using var daemon = await StartAsync("Apply:AtStartup=false");
        var file = Write("lp_unit.ko", TestSigningKey.Trusted.Sign(ModuleImage.Default()));

        var run = await Lpctl(daemon, "install", file, "--cve", "cve-2026-1234");
        var json = await Lpctl(daemon, "-o", "json", "install", file, "--cve", "CVE-2026-1");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("operator metadata: CVE id \"cve-2026-1234\" is not a CVE id as MITRE writes it", run.Error, StringComparison.Ordinal);
        Assert.Equal(1, json.ExitCode);
        using var document = JsonDocument.Parse(json.Out);
        Assert.Equal("invalid-argument", document.RootElement.GetProperty("error").GetProperty("reason").GetString());
        var store = Path.Combine(daemon.StateDir, "patches");
        Assert.False(Directory.Exists(store) && Directory.EnumerateFiles(store, "*.json", SearchOption.AllDirectories).Any(), "nothing is installed");
    }

    [Fact]
    public async Task A_loaded_patch_keeps_its_metadata_across_a_daemon_restart_and_one_loaded_by_others_has_none()
    {
        await using (var first = await StartAsync())
        {
            var load = await Lpctl(first, "load", Write("lp_unit.ko", WithMetadata(key: TestSigningKey.Trusted)));
            Assert.True(load.ExitCode == 0, load.ToString());
            await first.StopAsync();
            // A patch livepatchd never loaded (insmod): the kernel shows it, nothing records its .modinfo.
            Fixture.AddPatch("lp_insmod").Object("vmlinux").Function("meminfo_proc_show");

            var daemon = await DaemonHarness.StartAsync(Fixture, new DaemonHarnessOptions { Loader = Kernel, Directory = first.Directory },
                [TrustedCertificateDir.SettingFor(TrustedDir)]);
            try
            {
                var info = await Lpctl(daemon, "-o", "json", "info", "lp_unit");
                var other = await Lpctl(daemon, "-o", "json", "info", "lp_insmod");
                var otherTable = await Lpctl(daemon, "info", "lp_insmod");

                Assert.True(info.ExitCode == 0, info.ToString());
                using (var document = JsonDocument.Parse(info.Out))
                {
                    AssertSigned(document.RootElement.GetProperty("patch").GetProperty("metadata"));
                }

                using (var document = JsonDocument.Parse(other.Out))
                {
                    Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("patch").GetProperty("metadata").ValueKind);
                }

                Assert.Matches("(?m)^Metadata: +unknown \\(livepatchd did not load this module in this boot", otherTable.Out);
            }
            finally
            {
                await daemon.StopAsync();
            }
        }
    }

    [Fact]
    public async Task A_record_ends_when_its_module_is_unloaded()
    {
        await using var daemon = await StartAsync();
        var file = Write("lp_unit.ko", WithMetadata(key: TestSigningKey.Trusted));
        Assert.Equal(0, (await Lpctl(daemon, "load", file)).ExitCode);
        Assert.Equal(0, (await Lpctl(daemon, "unload", "lp_unit")).ExitCode);

        // Loaded again by other means (insmod), the module shows no metadata: the old record does not stick to its name.
        Fixture.AddPatch("lp_unit").Object("vmlinux").Function("cmdline_proc_show");
        LpctlRun info = null!;
        await DaemonHarness.WaitForAsync(async () =>
        {
            info = await Lpctl(daemon, "-o", "json", "info", "lp_unit");
            return info.ExitCode == 0;
        }, TimeSpan.FromSeconds(10));

        using var document = JsonDocument.Parse(info.Out);
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("patch").GetProperty("metadata").ValueKind);
        Assert.DoesNotContain("lp_unit", File.ReadAllText(Path.Combine(daemon.StateDir, "loaded-patches.json")), StringComparison.Ordinal);
    }
}

using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using LivePatchAgent.Daemon.Store;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// Installed patches through the real daemon against a simulated kernel: install, uninstall, list, compressed
/// modules, start-up apply with full re-verification, the kill switch, the crash-loop guard, and leftover cleanup.
/// </summary>
public sealed class DaemonStoreTests : IDisposable
{
    private const string EarlierBoot = "0c0ffee0-0000-4000-8000-000000000001";
    private readonly SysfsFixture _fixture = SysfsFixture.Create(ModuleImage.Release);
    private readonly SimulatedKernel _kernel;
    private readonly TrustedCertificateDir _trusted = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "lpd-" + Guid.NewGuid().ToString("N")[..10]);

    public DaemonStoreTests()
    {
        _kernel = new SimulatedKernel(_fixture);
        Directory.CreateDirectory(_directory);
    }

    private string StateDir => Path.Combine(_directory, "state");

    private string StoreDir => Path.Combine(StateDir, "patches", ModuleImage.Release);

    private string BootId => File.ReadAllText(Path.Combine(_fixture.Root, "proc/sys/kernel/random/boot_id")).Trim();

    public void Dispose()
    {
        _kernel.Dispose();
        _fixture.Dispose();
        _trusted.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private Task<DaemonHarness> StartAsync(params string[] settings) =>
        DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { Loader = _kernel, Directory = _directory },
            [_trusted.Setting, .. settings]);

    private static byte[] Signed(string name, TestSigningKey? key = null)
    {
        var image = new ModuleImage().With("name", name);
        image.StructModuleName = name;
        return (key ?? TestSigningKey.Trusted).Sign(image.Build());
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string? Reason(RpcException e) => e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason;

    /// <summary>Writes an installed patch straight into the store, as an earlier daemon would have.</summary>
    private void Preinstall(string name, bool? replace = null, ulong? version = null, int minute = 0)
    {
        var module = Signed(name);
        new PatchStore(Path.Combine(StateDir, "patches")).Install(new InstalledPatchManifest
        {
            Name = name,
            KernelRelease = ModuleImage.Release,
            Sha256 = Sha256(module),
            Size = module.Length,
            Replace = replace,
            CumulativeVersion = version,
            InstalledAt = new DateTimeOffset(2026, 11, 28, 10, minute, 0, TimeSpan.Zero),
        }, module);
    }

    private void PlantMarker(string bootId, string patch) =>
        File.WriteAllText(Path.Combine(StateDir, CrashLoopGuard.FileName),
            $$"""{"bootId":"{{bootId}}","patch":"{{patch}}","sha256":"{{new string('0', 64)}}","kernelRelease":"{{ModuleImage.Release}}","startedAt":"2026-11-27T23:59:00+00:00"}""");

    private static async Task<StartupApply> WaitForApplyAsync(DaemonHarness daemon, StartupApplyState state = StartupApplyState.Done)
    {
        StartupApply? apply = null;
        await DaemonHarness.WaitForAsync(async () =>
        {
            apply = (await daemon.Client.GetStatusAsync(new GetStatusRequest())).StartupApply;
            return apply?.State == state;
        }, TimeSpan.FromSeconds(20));
        return apply!;
    }

    private bool Loaded(string name) => Directory.Exists(Path.Combine(_fixture.LivepatchDir, name));

    [Fact]
    public async Task Install_verifies_stores_module_and_manifest_and_lists_it_as_not_loaded()
    {
        await using var daemon = await StartAsync();
        var module = Signed("lp_a");

        var response = await daemon.Client.InstallPatchAsync(new InstallPatchRequest
        {
            Module = ByteString.CopyFrom(module),
            FileName = "/home/admin/lp_a.ko",
            Metadata = new InstallMetadata { Description = "fix for cmdline", CveIds = { "CVE-2026-1234" }, CumulativeVersion = 3, Replace = true },
        });

        Assert.Equal("lp_a", response.Installed.Name);
        Assert.False(response.Installed.Loaded);
        Assert.Equal(module, File.ReadAllBytes(Path.Combine(StoreDir, "lp_a.ko")));
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(StoreDir, "lp_a.json")));
        var root = manifest.RootElement;
        Assert.Equal(Sha256(module), root.GetProperty("sha256").GetString());
        Assert.Equal(module.Length, root.GetProperty("size").GetInt64());
        Assert.Equal(TestSigningKey.Trusted.Certificate.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, false),
            root.GetProperty("signer").GetString());
        Assert.True(root.GetProperty("replace").GetBoolean());
        Assert.Equal(3, root.GetProperty("cumulativeVersion").GetInt32());
        Assert.Equal("CVE-2026-1234", root.GetProperty("cveIds")[0].GetString());
        Assert.Equal((int)GetUid(), root.GetProperty("installedByUid").GetInt32());
        Assert.Contains(root.GetProperty("modinfo").EnumerateArray(), e => e.GetProperty("key").GetString() == "livepatch");
        Assert.Equal(0, _kernel.LoadCalls);

        var listed = await daemon.Client.ListInstalledAsync(new ListInstalledRequest());
        var patch = Assert.Single(listed.Patches);
        Assert.Equal(("lp_a", ModuleImage.Release, false), (patch.Name, patch.KernelRelease, patch.Loaded));
        Assert.Equal("install", patch.ReplaceSource);
        Assert.Equal(ModuleImage.Release, listed.RunningRelease);
    }

    private static uint GetUid() => uint.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_module_that_fails_verification_is_not_installed()
    {
        await using var daemon = await StartAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.InstallPatchAsync(new InstallPatchRequest
        {
            Module = ByteString.CopyFrom(Signed("lp_a", TestSigningKey.Untrusted)),
        }).ResponseAsync);

        Assert.Equal("untrusted-signer", Reason(e));
        Assert.False(Directory.Exists(StoreDir) && Directory.EnumerateFileSystemEntries(StoreDir).Any());
    }

    [Fact]
    public async Task Install_for_another_kernel_checks_that_kernel_and_cannot_load_now()
    {
        await using var daemon = await StartAsync();
        var image = new ModuleImage().With("name", "lp_next").With("vermagic", $"6.1.0-57-amd64 {ModuleImage.Flags} ");
        image.StructModuleName = "lp_next";
        var module = TestSigningKey.Trusted.Sign(image.Build());

        var installed = await daemon.Client.InstallPatchAsync(new InstallPatchRequest { Module = ByteString.CopyFrom(module), KernelRelease = "6.1.0-57-amd64" });
        var mismatch = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.InstallPatchAsync(new InstallPatchRequest { Module = ByteString.CopyFrom(module) }).ResponseAsync);
        var now = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.InstallPatchAsync(new InstallPatchRequest { Module = ByteString.CopyFrom(module), KernelRelease = "6.1.0-57-amd64", LoadNow = true }).ResponseAsync);

        Assert.Equal("6.1.0-57-amd64", installed.Installed.KernelRelease);
        Assert.Equal("kernel-mismatch", Reason(mismatch));
        Assert.Equal("invalid-argument", Reason(now));
        var all = await daemon.Client.ListInstalledAsync(new ListInstalledRequest { AllKernels = true });
        Assert.Equal(["6.1.0-57-amd64"], all.Patches.Select(p => p.KernelRelease));
        Assert.Empty((await daemon.Client.ListInstalledAsync(new ListInstalledRequest())).Patches);
    }

    [Fact]
    public async Task Install_now_loads_and_uninstall_keeps_the_loaded_patch()
    {
        await using var daemon = await StartAsync();
        var module = Signed("lp_a");

        var response = await daemon.Client.InstallPatchAsync(new InstallPatchRequest { Module = ByteString.CopyFrom(module), LoadNow = true });

        Assert.True(response.Load.TransitionCompleted, response.Message);
        Assert.Equal(Sha256(module), Assert.Single(_kernel.LoadedSha256));
        Assert.True(response.Installed.Loaded);
        Assert.True(Assert.Single((await daemon.Client.ListInstalledAsync(new ListInstalledRequest())).Patches).Loaded);

        var uninstall = await daemon.Client.UninstallPatchAsync(new UninstallPatchRequest { Name = "lp_a" });
        Assert.True(uninstall.StillLoaded);
        Assert.Contains("lpctl unload lp_a", uninstall.Message, StringComparison.Ordinal);
        Assert.True(Loaded("lp_a"));
        Assert.Empty((await daemon.Client.ListInstalledAsync(new ListInstalledRequest())).Patches);
        Assert.False(File.Exists(Path.Combine(StoreDir, "lp_a.ko")));

        var missing = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.UninstallPatchAsync(new UninstallPatchRequest { Name = "lp_a" }).ResponseAsync);
        Assert.Equal("not-installed", Reason(missing));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task A_compressed_module_is_verified_and_loaded_decompressed(string format)
    {
        await using var daemon = await StartAsync();
        var module = Signed("lp_a");
        var compressed = format == "gzip" ? Gzip(module) : new ZstdSharp.Compressor(19).Wrap(module).ToArray();

        var verify = await daemon.Client.VerifyModuleAsync(new VerifyModuleRequest { Module = ByteString.CopyFrom(compressed) });
        var load = await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(compressed), FileName = "lp_a.ko." + format });

        Assert.True(verify.Ok, verify.Message);
        Assert.Equal(format, verify.Module.Compression);
        Assert.Equal((ulong)compressed.Length, verify.Module.UploadSize);
        Assert.Equal(Sha256(module), verify.Module.Sha256);
        Assert.True(load.TransitionCompleted);
        // The kernel got the decompressed image, exactly the verified bytes.
        Assert.Equal(Sha256(module), Assert.Single(_kernel.LoadedSha256));
    }

    [Fact]
    public async Task An_xz_module_signed_by_sign_file_installs_decompressed()
    {
        File.Copy(TestData.PathOf("trusted.pem"), Path.Combine(_trusted.Path, "real.pem"));
        await using var daemon = await StartAsync();
        var xz = File.ReadAllBytes(TestData.PathOf("lpdemo_v1.signed.ko.xz"));
        var plain = File.ReadAllBytes(TestData.PathOf("lpdemo_v1.signed.ko"));

        var response = await daemon.Client.InstallPatchAsync(new InstallPatchRequest { Module = ByteString.CopyFrom(xz), FileName = "lpdemo_v1.signed.ko.xz", LoadNow = true });

        Assert.Equal("xz", response.Installed.Compression);
        Assert.Equal(Sha256(plain), response.Installed.Sha256);
        Assert.Equal(plain, File.ReadAllBytes(Path.Combine(StoreDir, "lpdemo_v1.ko")));
        Assert.Equal(Sha256(plain), Assert.Single(_kernel.LoadedSha256));
    }

    [Fact]
    public async Task A_decompression_bomb_is_module_too_large_and_corrupt_data_is_decompression_failed()
    {
        await using var daemon = await StartAsync("Limits:MaxModuleSize=1048576");
        var bomb = Gzip(new byte[8 << 20]);
        var corrupt = Gzip(Signed("lp_a"));
        corrupt[^6] ^= 0xff;

        var tooLarge = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(bomb) }).ResponseAsync);
        var failed = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.InstallPatchAsync(new InstallPatchRequest { Module = ByteString.CopyFrom(corrupt) }).ResponseAsync);

        Assert.Equal("module-too-large", Reason(tooLarge));
        Assert.Equal("decompression-failed", Reason(failed));
        Assert.Equal(0, _kernel.LoadCalls);
    }

    [Fact]
    public async Task Installed_patches_come_back_after_a_restart_each_re_verified()
    {
        await using (var first = await StartAsync())
        {
            await first.Client.InstallPatchAsync(new InstallPatchRequest { Module = ByteString.CopyFrom(Signed("lp_a")) });
            await first.Client.InstallPatchAsync(new InstallPatchRequest { Module = ByteString.CopyFrom(Signed("lp_b")) });
            await first.StopAsync();
            // The first daemon's dispose removes its directory; keep the state for the second one.
            CopyDirectory(_directory, _directory + ".keep");
        }

        Directory.Move(_directory + ".keep", _directory);
        await using var daemon = await StartAsync();

        var apply = await WaitForApplyAsync(daemon);

        Assert.Equal(["lp_a:Applied", "lp_b:Applied"], apply.Results.Select(r => $"{r.Name}:{r.Outcome}"));
        Assert.All(apply.Results, r => Assert.Contains("re-verified", r.Message, StringComparison.Ordinal));
        Assert.True(Loaded("lp_a") && Loaded("lp_b"));
        Assert.Equal(2, _kernel.LoadCalls);
        Assert.False(File.Exists(Path.Combine(StateDir, CrashLoopGuard.FileName)));
        var listed = await daemon.Client.ListInstalledAsync(new ListInstalledRequest());
        Assert.All(listed.Patches, p => Assert.True(p.Loaded));
    }

    [Fact]
    public async Task A_tampered_store_module_is_refused_with_hash_mismatch_and_the_other_still_loads()
    {
        Preinstall("lp_a", minute: 1);
        Preinstall("lp_b", minute: 2);
        var path = Path.Combine(StoreDir, "lp_a.ko");
        var bytes = File.ReadAllBytes(path);
        bytes[100] ^= 0x01;
        File.WriteAllBytes(path, bytes);

        await using var daemon = await StartAsync();
        var apply = await WaitForApplyAsync(daemon);

        var a = apply.Results.Single(r => r.Name == "lp_a");
        Assert.Equal((ApplyOutcome.Failed, "hash-mismatch"), (a.Outcome, a.Reason));
        Assert.Contains("manifest recorded", a.Message, StringComparison.Ordinal);
        Assert.Equal(ApplyOutcome.Applied, apply.Results.Single(r => r.Name == "lp_b").Outcome);
        Assert.False(Loaded("lp_a"));
        Assert.True(Loaded("lp_b"));
        Assert.Equal(1, _kernel.LoadCalls);
    }

    [Fact]
    public async Task A_store_module_resigned_by_an_untrusted_key_with_a_matching_manifest_is_still_refused()
    {
        // An attacker who can write the store can also rewrite the manifest: the signature check still stands.
        Preinstall("lp_a");
        var forged = Signed("lp_a", TestSigningKey.Untrusted);
        File.WriteAllBytes(Path.Combine(StoreDir, "lp_a.ko"), forged);
        var manifestPath = Path.Combine(StoreDir, "lp_a.json");
        File.WriteAllText(manifestPath, File.ReadAllText(manifestPath).Replace(Sha256(Signed("lp_a")), Sha256(forged), StringComparison.Ordinal)
            .Replace($"\"size\": {Signed("lp_a").Length}", $"\"size\": {forged.Length}", StringComparison.Ordinal));

        await using var daemon = await StartAsync();
        var apply = await WaitForApplyAsync(daemon);

        Assert.Equal("untrusted-signer", Assert.Single(apply.Results).Reason);
        Assert.Equal(0, _kernel.LoadCalls);
    }

    [Fact]
    public async Task Of_several_cumulative_patches_only_the_newest_is_applied()
    {
        Preinstall("lp_v2", replace: true, version: 2, minute: 1);
        Preinstall("lp_v4", replace: true, version: 4, minute: 2);
        Preinstall("lp_v3", replace: true, version: 3, minute: 3);

        await using var daemon = await StartAsync();
        var apply = await WaitForApplyAsync(daemon);

        Assert.Equal(["lp_v4:Applied", "lp_v2:Superseded", "lp_v3:Superseded"], apply.Results.Select(r => $"{r.Name}:{r.Outcome}"));
        Assert.Equal(1, _kernel.LoadCalls);
        Assert.True(Loaded("lp_v4"));
    }

    [Theory]
    [InlineData("console=ttyS0 livepatchd.apply=0 quiet", null, "livepatchd.apply=0 is on the kernel command line")]
    [InlineData("console=ttyS0 quiet", "Apply:AtStartup=false", "Apply:AtStartup is false")]
    public async Task The_kill_switch_stops_start_up_apply_and_status_says_why(string commandLine, string? setting, string reason)
    {
        Preinstall("lp_a");
        _fixture.Write("proc/cmdline", commandLine + "\n");

        await using var daemon = await StartAsync(setting is null ? [] : [setting]);
        var apply = await WaitForApplyAsync(daemon, StartupApplyState.Disabled);

        Assert.Equal(reason, apply.Reason);
        Assert.Equal(0, _kernel.LoadCalls);
        Assert.False(Loaded("lp_a"));
    }

    [Fact]
    public async Task A_marker_from_an_earlier_boot_skips_start_up_apply_until_resumed()
    {
        Preinstall("lp_a");
        Preinstall("lp_b", minute: 1);
        Directory.CreateDirectory(StateDir);
        PlantMarker(EarlierBoot, "lp_a");

        await using var daemon = await StartAsync();
        var apply = await WaitForApplyAsync(daemon, StartupApplyState.Interrupted);
        var status = await daemon.Client.GetStatusAsync(new GetStatusRequest());

        Assert.Equal(("lp_a", EarlierBoot, "previous-apply-interrupted"), (apply.InterruptedPatch, apply.InterruptedBootId, apply.ErrorReason));
        Assert.Equal(AgentState.Degraded, status.State);
        Assert.Contains(status.Problems, p => p.Message.StartsWith("previous-apply-interrupted", StringComparison.Ordinal));
        Assert.Equal(0, _kernel.LoadCalls);

        var refused = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.ApplyInstalledAsync(new ApplyInstalledRequest()).ResponseAsync);
        Assert.Equal("previous-apply-interrupted", Reason(refused));
        Assert.Equal(0, _kernel.LoadCalls);

        var resumed = await daemon.Client.ApplyInstalledAsync(new ApplyInstalledRequest { Resume = true });

        Assert.True(resumed.Resumed);
        Assert.Equal(["lp_a:Applied", "lp_b:Applied"], resumed.Results.Select(r => $"{r.Name}:{r.Outcome}"));
        Assert.False(File.Exists(Path.Combine(StateDir, CrashLoopGuard.FileName)));
        status = await daemon.Client.GetStatusAsync(new GetStatusRequest());
        Assert.Equal(AgentState.Idle, status.State);
        Assert.Equal(StartupApplyState.Done, status.StartupApply.State);
    }

    [Fact]
    public async Task Uninstalling_the_interrupted_patch_lifts_the_guard_and_the_others_are_applied()
    {
        Preinstall("lp_a");
        Preinstall("lp_b", minute: 1);
        Directory.CreateDirectory(StateDir);
        PlantMarker(EarlierBoot, "lp_a");
        await using var daemon = await StartAsync();
        await WaitForApplyAsync(daemon, StartupApplyState.Interrupted);

        var uninstall = await daemon.Client.UninstallPatchAsync(new UninstallPatchRequest { Name = "lp_a" });
        var apply = await WaitForApplyAsync(daemon);

        Assert.True(uninstall.ClearedInterruptedApply);
        Assert.Equal(["lp_b:Applied"], apply.Results.Select(r => $"{r.Name}:{r.Outcome}"));
        Assert.False(Loaded("lp_a"));
        Assert.Equal(AgentState.Idle, (await daemon.Client.GetStatusAsync(new GetStatusRequest())).State);
    }

    [Fact]
    public async Task A_marker_of_this_boot_is_cleared_and_apply_goes_on()
    {
        Preinstall("lp_a");
        Directory.CreateDirectory(StateDir);
        PlantMarker(BootId, "lp_a");

        await using var daemon = await StartAsync();
        var apply = await WaitForApplyAsync(daemon);

        Assert.Equal(ApplyOutcome.Applied, Assert.Single(apply.Results).Outcome);
        Assert.False(File.Exists(Path.Combine(StateDir, CrashLoopGuard.FileName)));
    }

    [Fact]
    public async Task The_marker_names_the_patch_while_the_kernel_loads_it_and_is_cleared_after()
    {
        Preinstall("lp_a");
        string? seen = null;
        _kernel.OnLoad = _ => seen = File.ReadAllText(Path.Combine(StateDir, CrashLoopGuard.FileName));

        await using var daemon = await StartAsync();
        await WaitForApplyAsync(daemon);

        Assert.NotNull(seen);
        using var marker = JsonDocument.Parse(seen);
        Assert.Equal("lp_a", marker.RootElement.GetProperty("patch").GetString());
        Assert.Equal(BootId, marker.RootElement.GetProperty("bootId").GetString());
        Assert.False(File.Exists(Path.Combine(StateDir, CrashLoopGuard.FileName)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task After_an_atomic_replace_the_free_replaced_module_is_removed_unless_turned_off(bool cleanup)
    {
        _kernel.Replacing["lp_cum"] = true;
        await using var daemon = await StartAsync($"Apply:CleanupLeftovers={cleanup}");
        await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(Signed("lp_old")) });

        var load = await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(Signed("lp_cum")) });
        // The kernel frees the replaced patch just after the transition; without the cleanup nobody waits for it.
        ListPatchesResponse list = null!;
        await DaemonHarness.WaitForAsync(async () =>
        {
            list = await daemon.Client.ListPatchesAsync(new ListPatchesRequest());
            return list.Patches.Count == 1;
        });

        Assert.True(load.TransitionCompleted);
        Assert.Equal(["lp_cum"], list.Patches.Select(p => p.Name));
        if (cleanup)
        {
            Assert.Equal(["lp_old"], load.RemovedLeftovers);
            Assert.Empty(list.Leftovers);
            Assert.False(Directory.Exists(Path.Combine(_fixture.Root, "sys/module/lp_old")));
        }
        else
        {
            Assert.Empty(load.RemovedLeftovers);
            Assert.Equal(["lp_old"], list.Leftovers.Select(l => l.Name));
        }
    }

    [Fact]
    public async Task Apply_results_are_events()
    {
        Preinstall("lp_a");
        await using var daemon = await StartAsync("Apply:AtStartup=false");
        using var watch = daemon.Client.WatchEvents(new WatchEventsRequest());
        await watch.ResponseHeadersAsync;

        var run = await daemon.Client.ApplyInstalledAsync(new ApplyInstalledRequest());

        Assert.Equal(ApplyOutcome.Applied, Assert.Single(run.Results).Outcome);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await watch.ResponseStream.MoveNext(timeout.Token))
        {
            if (watch.ResponseStream.Current.Kind == EventKind.InstalledPatchApplied)
            {
                Assert.Equal("lp_a", watch.ResponseStream.Current.Patch);
                return;
            }
        }

        Assert.Fail("no installed-patch-applied event");
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (!file.EndsWith(".sock", StringComparison.Ordinal))
            {
                File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
            }
        }
    }
}

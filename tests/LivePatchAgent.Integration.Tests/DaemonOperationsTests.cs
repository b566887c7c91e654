using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using LivePatchAgent.Linux.Native;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Integration.Tests;

/// <summary>VerifyModule, LoadPatch and UnloadPatch through the real daemon, with a simulated kernel.</summary>
public sealed class DaemonOperationsTests : IDisposable
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create(ModuleImage.Release);
    private readonly SimulatedKernel _kernel;
    private readonly TrustedCertificateDir _trusted = new();

    public DaemonOperationsTests()
    {
        _kernel = new SimulatedKernel(_fixture);
    }

    public void Dispose()
    {
        _kernel.Dispose();
        _fixture.Dispose();
        _trusted.Dispose();
    }

    private Task<DaemonHarness> StartAsync(params string[] settings) =>
        DaemonHarness.StartAsync(_fixture, _kernel, [_trusted.Setting, .. settings]);

    private static byte[] Signed(string name = "lp_unit", TestSigningKey? key = null, string release = ModuleImage.Release)
    {
        var image = new ModuleImage().With("name", name).With("vermagic", $"{release} {ModuleImage.Flags} ");
        image.StructModuleName = name;
        return (key ?? TestSigningKey.Trusted).Sign(image.Build());
    }

    private static string? Reason(RpcException e) => e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason;

    [Fact]
    public async Task Verify_reports_every_check_and_the_signer()
    {
        await using var daemon = await StartAsync();

        var report = await daemon.Client.VerifyModuleAsync(new VerifyModuleRequest { Module = ByteString.CopyFrom(Signed()), FileName = "lp_unit.ko" });

        Assert.True(report.Ok, report.Message);
        Assert.Equal("lp_unit", report.Module.Name);
        Assert.True(report.Module.Signature.Trusted);
        Assert.Equal("sha256", report.Module.Signature.DigestAlgorithm);
        Assert.Contains(report.Checks, c => c.Name == "kernel-release" && c.Result == CheckResult.Passed);
        Assert.Contains(report.Checks, c => c.Name == "signature" && c.Result == CheckResult.Passed);
        Assert.Equal(0, _kernel.LoadCalls);
    }

    [Theory]
    [InlineData("untrusted", "untrusted-signer")]
    [InlineData("unsigned", "unsigned-module")]
    [InlineData("other-kernel", "kernel-mismatch")]
    [InlineData("garbage", "module-malformed")]
    public async Task Verify_names_the_first_failure(string kind, string reason)
    {
        await using var daemon = await StartAsync();
        var module = kind switch
        {
            "untrusted" => Signed(key: TestSigningKey.Untrusted),
            "unsigned" => ModuleImage.Default(),
            "other-kernel" => Signed(release: "6.1.0-55-amd64"),
            _ => RandomNumberGenerator.GetBytes(4096),
        };

        var report = await daemon.Client.VerifyModuleAsync(new VerifyModuleRequest { Module = ByteString.CopyFrom(module) });

        Assert.False(report.Ok);
        Assert.Equal(reason, report.Reason);
        Assert.Contains(report.Checks, c => c.Result == CheckResult.Failed && c.Reason == reason);
    }

    [Fact]
    public async Task Load_hands_the_kernel_exactly_the_verified_bytes_and_waits_for_the_transition()
    {
        await using var daemon = await StartAsync();
        var module = Signed();

        var result = await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(module), FileName = "lp_unit.ko" });

        Assert.Equal("lp_unit", result.Name);
        Assert.True(result.TransitionCompleted, result.Message);
        Assert.Equal(PatchState.Enabled, result.Patch.State);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(module)), Assert.Single(_kernel.LoadedSha256));
        Assert.Equal(result.Verification.Module.Sha256, _kernel.LoadedSha256.Single());
        Assert.True(result.Elapsed.ToTimeSpan() >= _kernel.TransitionTime);
    }

    [Fact]
    public async Task Load_with_no_wait_returns_while_the_transition_runs()
    {
        _kernel.TransitionTime = TimeSpan.FromSeconds(30);
        await using var daemon = await StartAsync();

        var result = await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(Signed()), NoWait = true });

        Assert.False(result.TransitionCompleted);
        Assert.Equal(PatchState.Enabling, result.Patch.State);
    }

    [Fact]
    public async Task Load_reports_a_transition_still_running_at_the_deadline()
    {
        _kernel.TransitionTime = TimeSpan.FromMinutes(5);
        await using var daemon = await StartAsync();

        var result = await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(Signed()), Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) });

        Assert.False(result.TransitionCompleted);
        Assert.Contains("still running", result.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("untrusted", "untrusted-signer")]
    [InlineData("unsigned", "unsigned-module")]
    [InlineData("other-kernel", "kernel-mismatch")]
    public async Task Load_refuses_before_the_kernel_sees_the_module(string kind, string reason)
    {
        await using var daemon = await StartAsync();
        var module = kind switch
        {
            "untrusted" => Signed(key: TestSigningKey.Untrusted),
            "unsigned" => ModuleImage.Default(),
            _ => Signed(release: "6.1.0-55-amd64"),
        };

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(module) }).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Equal(reason, Reason(e));
        Assert.Equal(0, _kernel.LoadCalls);
    }

    [Fact]
    public async Task Unsigned_modules_load_when_the_policy_allows_it()
    {
        await using var daemon = await StartAsync("Verification:RequireSignature=false");

        var result = await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(ModuleImage.Default()) });

        Assert.True(result.TransitionCompleted);
    }

    [Theory]
    [InlineData(KernelModules.Ekeyrejected, "kernel-rejected-signature", StatusCode.FailedPrecondition)]
    [InlineData(KernelModules.Eperm, "kernel-refused", StatusCode.FailedPrecondition)]
    [InlineData(KernelModules.Enoexec, "module-rejected", StatusCode.FailedPrecondition)]
    [InlineData(KernelModules.Enoent, "unknown-symbol", StatusCode.FailedPrecondition)]
    [InlineData(KernelModules.Eexist, "already-loaded", StatusCode.AlreadyExists)]
    [InlineData(KernelModules.Etxtbsy, "load-failed", StatusCode.Internal)]
    public async Task Kernel_errnos_become_reasons(int errno, string reason, StatusCode code)
    {
        _kernel.AlwaysFailLoad = errno;
        await using var daemon = await StartAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(Signed()) }).ResponseAsync);

        Assert.Equal(reason, Reason(e));
        Assert.Equal(code, e.StatusCode);
    }

    [Fact]
    public async Task Lockdown_is_named_as_the_cause_of_eperm()
    {
        _fixture.WithLockdown("none [integrity] confidentiality");
        _kernel.AlwaysFailLoad = KernelModules.Eperm;
        await using var daemon = await StartAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(Signed()) }).ResponseAsync);

        Assert.Equal("kernel-refused", Reason(e));
        Assert.Contains("lockdown mode \"integrity\"", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_busy_kernel_is_retried_until_it_accepts()
    {
        _kernel.LoadErrnos.Enqueue(KernelModules.Ebusy);
        _kernel.LoadErrnos.Enqueue(KernelModules.Ebusy);
        await using var daemon = await StartAsync();

        var result = await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(Signed()) });

        Assert.True(result.TransitionCompleted);
        Assert.Equal(3, _kernel.LoadCalls);
    }

    [Fact]
    public async Task A_kernel_busy_past_the_deadline_is_transition_in_progress()
    {
        _kernel.AlwaysFailLoad = KernelModules.Ebusy;
        await using var daemon = await StartAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.LoadPatchAsync(new LoadPatchRequest
        {
            Module = ByteString.CopyFrom(Signed()),
            Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(2)),
        }).ResponseAsync);

        Assert.Equal("transition-in-progress", Reason(e));
        Assert.True(_kernel.LoadCalls >= 2);
    }

    [Fact]
    public async Task A_load_during_another_transition_waits_its_turn_without_calling_the_kernel()
    {
        // The kernel creates /sys/kernel/livepatch/<name> before it refuses a second patch with EBUSY: a load that
        // tried anyway would publish a phantom patch-appeared/patch-removed pair per attempt, and run the module's
        // init each time. The daemon sees the transition and waits for it instead.
        _fixture.AddPatch("lp_other", transition: true).Object("vmlinux").Function("meminfo_proc_show");
        await using var daemon = await StartAsync("Watch:TransitionInterval=00:00:00.100");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var watch = daemon.Client.WatchEvents(new WatchEventsRequest(), cancellationToken: cts.Token);
        await watch.ResponseHeadersAsync;
        var events = new System.Collections.Concurrent.ConcurrentQueue<Event>();
        var reader = Task.Run(async () =>
        {
            while (await watch.ResponseStream.MoveNext(cts.Token))
            {
                events.Enqueue(watch.ResponseStream.Current);
            }
        });

        var started = await daemon.Client.StartOperationAsync(new StartOperationRequest { Load = new LoadPatchRequest { Module = ByteString.CopyFrom(Signed()) } });
        await DaemonHarness.WaitForAsync(async () => (await daemon.Client.GetOperationAsync(new GetOperationRequest { Id = started.Id })).Phase == OperationPhase.Waiting);
        var waiting = await daemon.Client.GetOperationAsync(new GetOperationRequest { Id = started.Id });
        // Long enough for a retrying load to have tried several times (the busy retry starts at 100 ms).
        await Task.Delay(TimeSpan.FromSeconds(2));
        var callsWhileWaiting = _kernel.LoadCalls;
        _fixture.SetTransition("lp_other", false);
        await DaemonHarness.WaitForAsync(async () => (await daemon.Client.GetOperationAsync(new GetOperationRequest { Id = started.Id })).Result is not null, TimeSpan.FromSeconds(30));
        var final = await daemon.Client.GetOperationAsync(new GetOperationRequest { Id = started.Id });
        await DaemonHarness.WaitForAsync(() => Task.FromResult(events.Any(e => e.Kind == EventKind.PatchAppeared && e.Patch == "lp_unit")));

        Assert.Contains("lp_other", waiting.Message, StringComparison.Ordinal);
        Assert.Equal(0, callsWhileWaiting);
        Assert.Equal(OperationResultKind.Completed, final.Result.Kind);
        Assert.Equal(1, _kernel.LoadCalls);
        Assert.Single(events, e => e.Kind == EventKind.PatchAppeared && e.Patch == "lp_unit");
        Assert.DoesNotContain(events, e => e.Kind == EventKind.PatchRemoved && e.Patch == "lp_unit");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => reader);
    }

    [Fact]
    public async Task Loading_a_loaded_patch_is_refused_before_the_kernel()
    {
        _fixture.AddPatch("lp_unit").Function("cmdline_proc_show");
        await using var daemon = await StartAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(Signed()) }).ResponseAsync);

        Assert.Equal("already-loaded", Reason(e));
        Assert.Equal(0, _kernel.LoadCalls);
    }

    [Fact]
    public async Task A_module_over_the_size_limit_is_refused()
    {
        await using var daemon = await StartAsync("Limits:MaxModuleSize=4096");

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.VerifyModuleAsync(new VerifyModuleRequest { Module = ByteString.CopyFrom(new byte[5000]) }).ResponseAsync);

        Assert.Equal("module-too-large", Reason(e));
    }

    [Fact]
    public async Task Unload_disables_waits_and_removes_the_module()
    {
        await using var daemon = await StartAsync();
        await daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(Signed()) });

        var result = await daemon.Client.UnloadPatchAsync(new UnloadPatchRequest { Name = "lp_unit" });

        Assert.False(result.WasLeftover);
        Assert.False(Directory.Exists(Path.Combine(_fixture.LivepatchDir, "lp_unit")));
        Assert.False(Directory.Exists(Path.Combine(_fixture.Root, "sys/module/lp_unit")));
        var list = await daemon.Client.ListPatchesAsync(new ListPatchesRequest());
        Assert.Empty(list.Patches);
        Assert.Empty(list.Leftovers);
    }

    [Fact]
    public async Task A_leftover_is_listed_and_unload_removes_it()
    {
        _fixture.AddPatch("old_patch").Function("cmdline_proc_show");
        _fixture.RemovePatch("old_patch"); // replaced: no longer registered, module still loaded
        await using var daemon = await StartAsync();

        var list = await daemon.Client.ListPatchesAsync(new ListPatchesRequest());
        Assert.Equal("old_patch", Assert.Single(list.Leftovers).Name);
        Assert.Equal(1U, (await daemon.Client.GetStatusAsync(new GetStatusRequest())).LeftoverCount);

        var result = await daemon.Client.UnloadPatchAsync(new UnloadPatchRequest { Name = "old-patch" });

        Assert.True(result.WasLeftover);
        Assert.Empty((await daemon.Client.ListPatchesAsync(new ListPatchesRequest())).Leftovers);
    }

    [Fact]
    public async Task Unloading_an_unknown_patch_is_patch_not_found()
    {
        await using var daemon = await StartAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.UnloadPatchAsync(new UnloadPatchRequest { Name = "nope" }).ResponseAsync);

        Assert.Equal("patch-not-found", Reason(e));
    }

    [Fact]
    public async Task Load_on_a_kernel_without_livepatch_is_refused()
    {
        _fixture.WithoutLivepatch();
        await using var daemon = await StartAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = ByteString.CopyFrom(Signed()) }).ResponseAsync);

        Assert.Equal("livepatch-unsupported", Reason(e));
    }
}

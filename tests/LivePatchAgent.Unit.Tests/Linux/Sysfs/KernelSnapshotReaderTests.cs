using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Linux;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.Extensions.Time.Testing;

namespace LivePatchAgent.Unit.Tests.Linux.Sysfs;

public sealed class KernelSnapshotReaderTests : IDisposable
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _fixture.Dispose();

    private KernelSnapshot Read() => new KernelSnapshotReader(new HostPaths(_fixture.Root), _time).Read();

    [Fact]
    public void Reads_the_kernel_facts()
    {
        _fixture.WithTaint(45056).WithSigEnforce(true).WithLockdown("none integrity [confidentiality]").WithBuildId([0xab, 0xcd]);

        var kernel = Read().Kernel;

        Assert.Equal("6.1.0-56-amd64", kernel.Release);
        Assert.Equal("#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)", kernel.Version);
        Assert.Equal("3f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f", kernel.BootId);
        Assert.Equal("OEK", kernel.Taint?.Letters);
        Assert.Equal("confidentiality", kernel.Lockdown);
        Assert.True(kernel.SigEnforce);
        Assert.False(kernel.ModulesDisabled);
        Assert.True(kernel.FtraceEnabled);
        Assert.True(kernel.LivepatchSupported);
        Assert.Equal("abcd", kernel.BuildId);
    }

    [Fact]
    public void Absent_facts_are_unknown_not_errors()
    {
        foreach (var file in new[] { "proc/sys/kernel/tainted", "sys/kernel/security/lockdown", "sys/module/module/parameters/sig_enforce", "proc/sys/kernel/ftrace_enabled", "proc/sys/kernel/version" })
        {
            File.Delete(Path.Combine(_fixture.Root, file));
        }

        var snapshot = Read();

        Assert.Null(snapshot.Kernel.Taint);
        Assert.Null(snapshot.Kernel.Lockdown);
        Assert.Null(snapshot.Kernel.SigEnforce);
        Assert.Null(snapshot.Kernel.FtraceEnabled);
        Assert.Null(snapshot.Kernel.Version);
        Assert.Null(snapshot.Kernel.BuildId);
        Assert.Empty(snapshot.Problems);
    }

    [Fact]
    public void An_empty_root_reads_as_an_unknown_kernel_without_livepatch()
    {
        var empty = Directory.CreateTempSubdirectory("lpa-empty-");
        try
        {
            var snapshot = new KernelSnapshotReader(new HostPaths(empty.FullName), _time).Read();

            Assert.Null(snapshot.Kernel.Release);
            Assert.False(snapshot.Kernel.LivepatchSupported);
            Assert.Empty(snapshot.Patches);
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

    [Fact]
    public void Reads_the_61_layout()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");

        var patch = Assert.Single(Read().Patches);

        Assert.Equal("lpdemo_v1", patch.Name);
        Assert.Equal(PatchState.Enabled, patch.State);
        Assert.Null(patch.Replace);
        Assert.Equal(1, patch.StackOrder);
        Assert.Equal(StackOrderSource.ModuleLoadOrder, patch.StackOrderSource);
        var obj = Assert.Single(patch.Objects);
        Assert.Equal("vmlinux", obj.Name);
        Assert.True(obj.Patched);
        Assert.Equal(new PatchFunction("cmdline_proc_show", 1), Assert.Single(obj.Functions));
        Assert.Equal("OEK", patch.Module?.Taint);
        Assert.Null(patch.Module?.RefCount);
        Assert.Null(patch.Module?.InitState);
    }

    [Fact]
    public void The_module_refcnt_and_initstate_are_read_when_asked_not_on_every_poll()
    {
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        var reader = new KernelSnapshotReader(new HostPaths(_fixture.Root), TimeProvider.System);
        var patch = Assert.Single(reader.Read().Patches);

        var shown = reader.WithModuleState(patch);
        Assert.Equal(1, shown.Module?.RefCount);
        Assert.Equal("live", shown.Module?.InitState);
        Assert.Equal("OEK", shown.Module?.Taint);

        // Read now, not when the snapshot was taken.
        _fixture.Write("sys/module/lpdemo_v1/refcnt", "2\n");
        _fixture.Write("sys/module/lpdemo_v1/initstate", "going\n");
        shown = reader.WithModuleState(patch);
        Assert.Equal(2, shown.Module?.RefCount);
        Assert.Equal("going", shown.Module?.InitState);

        // A value that does not parse is shown as unknown.
        _fixture.Write("sys/module/lpdemo_v1/refcnt", "lots\n");
        Assert.Null(reader.WithModuleState(patch).Module?.RefCount);

        // The module gone: the patch as the snapshot had it.
        Directory.Delete(Path.Combine(_fixture.Root, "sys/module/lpdemo_v1"), recursive: true);
        Assert.Same(patch, reader.WithModuleState(patch));
    }

    [Fact]
    public void Without_stack_order_the_order_is_the_module_load_order()
    {
        // Loaded b, then z, then a: names sort otherwise, and /proc/modules lists the newest first.
        _fixture.AddPatch("lp_b").Function("f");
        _fixture.AddPatch("lp_z").Function("f");
        _fixture.AddPatch("lp_a").Function("g");

        var patches = Read().Patches;

        Assert.Equal(["lp_b", "lp_z", "lp_a"], patches.Select(p => p.Name));
        Assert.Equal([1, 2, 3], patches.Select(p => p.StackOrder));
        Assert.All(patches, p => Assert.Equal(StackOrderSource.ModuleLoadOrder, p.StackOrderSource));
    }

    [Fact]
    public void A_removed_patch_moves_the_ones_above_it_down()
    {
        var reader = new KernelSnapshotReader(new HostPaths(_fixture.Root), _time);
        _fixture.AddPatch("lp_b").Function("f");
        _fixture.AddPatch("lp_z").Function("f");
        Assert.Equal([1, 2], reader.Read().Patches.Select(p => p.StackOrder));

        _fixture.RemovePatch("lp_b").RemoveModule("lp_b");

        var patch = Assert.Single(reader.Read().Patches);
        Assert.Equal(("lp_z", 1), (patch.Name, patch.StackOrder));
    }

    [Fact]
    public void Without_a_module_list_the_order_is_unknown_and_says_why()
    {
        _fixture.AddPatch("lp_b").Function("f");
        File.Delete(Path.Combine(_fixture.Root, "proc/modules"));

        var snapshot = Read();

        var patch = Assert.Single(snapshot.Patches);
        Assert.Null(patch.StackOrder);
        Assert.Equal(StackOrderSource.Unknown, patch.StackOrderSource);
        Assert.Contains(snapshot.Problems, p => p.Path.EndsWith("proc/modules", StringComparison.Ordinal) && p.Message.Contains("stacking order", StringComparison.Ordinal));
    }

    [Fact]
    public void Functions_are_read_once_per_patch_instance_and_state_every_time()
    {
        var reader = new KernelSnapshotReader(new HostPaths(_fixture.Root), _time);
        _fixture.AddPatch("lp_a").Object("vmlinux").Function("f");
        Assert.Equal(["f"], reader.Read().Patches[0].Functions.Select(f => f.Function.Name));

        // The kernel never adds functions to a registered patch; a new directory here is not read again ...
        Directory.CreateDirectory(Path.Combine(_fixture.LivepatchDir, "lp_a", "vmlinux", "g,1"));
        _fixture.SetEnabled("lp_a", false).SetTransition("lp_a", true);
        File.WriteAllText(Path.Combine(_fixture.LivepatchDir, "lp_a", "vmlinux", "patched"), "0\n");
        var patch = reader.Read().Patches[0];
        Assert.Equal(["f"], patch.Functions.Select(f => f.Function.Name));
        // ... while enabled, transition and patched are.
        Assert.Equal(PatchState.Disabling, patch.State);
        Assert.False(patch.Objects[0].Patched);

        // A patch registered again under the same name is a new instance, read in full.
        _fixture.RemovePatch("lp_a").RemoveModule("lp_a");
        Assert.Empty(reader.Read().Patches);
        _fixture.AddPatch("lp_a").Object("vmlinux").Function("h");
        Assert.Equal(["h"], reader.Read().Patches[0].Functions.Select(f => f.Function.Name));
    }

    [Fact]
    public void An_idle_patch_keeps_its_vmlinux_patched_value_and_a_module_object_is_read_every_poll()
    {
        var reader = new KernelSnapshotReader(new HostPaths(_fixture.Root), _time);
        _fixture.AddPatch("lp_a").Object("vmlinux", patched: true).Function("f").Object("lp_target", patched: false).Function("g");
        var vmlinux = Path.Combine(_fixture.LivepatchDir, "lp_a", "vmlinux", "patched");
        var module = Path.Combine(_fixture.LivepatchDir, "lp_a", "lp_target", "patched");
        Assert.Equal([true, false], reader.Read().Patches[0].Objects.Select(o => o.Patched));

        // Idle (no transition then or now, enabled unchanged): vmlinux's value is carried over, so a value the kernel
        // would never write outside a transition is not seen; the module object, patched when its module loads with no
        // transition, is read.
        File.WriteAllText(vmlinux, "0\n");
        File.WriteAllText(module, "1\n");
        Assert.Equal([true, true], reader.Read().Patches[0].Objects.Select(o => o.Patched));

        // In a transition it is read, and on the first idle poll after it too.
        _fixture.SetTransition("lp_a", true);
        Assert.Equal([false, true], reader.Read().Patches[0].Objects.Select(o => o.Patched));
        File.WriteAllText(vmlinux, "1\n");
        _fixture.SetTransition("lp_a", false);
        Assert.Equal([true, true], reader.Read().Patches[0].Objects.Select(o => o.Patched));

        // A change of enabled (a disable that completed between two polls) is read too.
        File.WriteAllText(vmlinux, "0\n");
        _fixture.SetEnabled("lp_a", false);
        Assert.Equal([false, true], reader.Read().Patches[0].Objects.Select(o => o.Patched));

        // A new instance under the same name starts from its own reading.
        _fixture.RemovePatch("lp_a").RemoveModule("lp_a");
        Assert.Empty(reader.Read().Patches);
        _fixture.AddPatch("lp_a").Object("vmlinux", patched: false).Function("f");
        Assert.Equal([false], reader.Read().Patches[0].Objects.Select(o => o.Patched));
    }

    [Fact]
    public void A_patch_read_while_the_kernel_still_builds_its_directory_is_read_again()
    {
        var reader = new KernelSnapshotReader(new HostPaths(_fixture.Root), _time);
        // klp_init_patch adds the patch directory first, then each object, then each object's functions.
        _fixture.AddPatch("lp_a");
        Assert.Empty(reader.Read().Patches[0].Functions);
        var objectDir = Path.Combine(_fixture.LivepatchDir, "lp_a", "vmlinux");
        Directory.CreateDirectory(objectDir);
        Assert.Empty(reader.Read().Patches[0].Functions);

        Directory.CreateDirectory(Path.Combine(objectDir, "f,1"));
        Assert.Equal(["f"], reader.Read().Patches[0].Functions.Select(f => f.Function.Name));
        // Complete now, so remembered: a directory the kernel never adds later is not read again.
        Directory.CreateDirectory(Path.Combine(objectDir, "g,1"));
        Assert.Equal(["f"], reader.Read().Patches[0].Functions.Select(f => f.Function.Name));
    }

    [Fact]
    public void Reads_the_614_layout_and_orders_by_stack_order()
    {
        _fixture.WithLayout(KernelLayout.Linux614);
        _fixture.AddPatch("zz_first", stackOrder: 1).Function("a");
        _fixture.AddPatch("aa_second", replace: true, stackOrder: 2).Function("b");

        var patches = Read().Patches;

        Assert.Equal(["zz_first", "aa_second"], patches.Select(p => p.Name));
        Assert.Equal(false, patches[0].Replace);
        Assert.Equal(true, patches[1].Replace);
        Assert.Equal(2, patches[1].StackOrder);
    }

    [Fact]
    public void Objects_before_61_have_no_patched_attribute()
    {
        _fixture.WithLayout(KernelLayout.Linux515);
        _fixture.AddPatch("old").Object("vmlinux").Function("f");

        Assert.Null(Read().Patches.Single().Objects.Single().Patched);
    }

    [Theory]
    [InlineData(true, true, PatchState.Enabling)]
    [InlineData(false, true, PatchState.Disabling)]
    [InlineData(false, false, PatchState.Disabled)]
    [InlineData(true, false, PatchState.Enabled)]
    public void Derives_the_patch_state(bool enabled, bool transition, PatchState state)
    {
        _fixture.AddPatch("p", enabled, transition).Function("f");

        var snapshot = Read();

        Assert.Equal(state, snapshot.Patches.Single().State);
        Assert.Equal(transition ? "p" : null, snapshot.TransitioningPatch?.Name);
    }

    [Fact]
    public void A_replace_patch_with_extra_nop_objects_lists_them_all()
    {
        // During an atomic replace the kernel adds "nop" objects for what older patches touched.
        _fixture.AddPatch("cumulative", transition: true)
            .Object("vmlinux").Function("cmdline_proc_show").Function("meminfo_proc_show")
            .Object("lpdemo_sleeper", patched: true).Function("lpdemo_sleeper_wait");

        var patch = Read().Patches.Single();

        Assert.Equal(["vmlinux", "lpdemo_sleeper"], patch.Objects.Select(o => o.Name));
        Assert.Equal(3, patch.Functions.Count());
    }

    [Fact]
    public void A_patch_whose_files_vanished_is_left_out_silently()
    {
        _fixture.AddPatch("gone").Function("f");
        _fixture.AddPatch("stays").Function("g");
        File.Delete(Path.Combine(_fixture.LivepatchDir, "gone", "enabled")); // the kernel freed it mid-read

        var snapshot = Read();

        Assert.Equal(["stays"], snapshot.Patches.Select(p => p.Name));
        Assert.Empty(snapshot.Problems);
    }

    [Fact]
    public void A_patch_without_its_module_directory_has_no_module_facts()
    {
        _fixture.AddPatch("p").Function("f");
        _fixture.RemoveModule("p");

        Assert.Null(Read().Patches.Single().Module);
    }

    [Fact]
    public void Garbage_values_are_reported_with_path_and_value()
    {
        _fixture.AddPatch("bad").Function("f");
        _fixture.AddPatch("good").Function("g");
        _fixture.Write("sys/kernel/livepatch/bad/enabled", "maybe\n");
        _fixture.Write("proc/sys/kernel/tainted", "-5\n");
        _fixture.Write("sys/kernel/security/lockdown", "nothing bracketed\n");
        Directory.CreateDirectory(Path.Combine(_fixture.LivepatchDir, "good", "vmlinux", "weird,x"));

        var snapshot = Read();

        Assert.Equal(["good"], snapshot.Patches.Select(p => p.Name));
        Assert.Null(snapshot.Kernel.Taint);
        Assert.Null(snapshot.Kernel.Lockdown);
        Assert.Contains(snapshot.Problems, p => p.Path.EndsWith("bad/enabled", StringComparison.Ordinal) && p.Message.Contains("\"maybe\"", StringComparison.Ordinal));
        Assert.Contains(snapshot.Problems, p => p.Path.EndsWith("kernel/tainted", StringComparison.Ordinal) && p.Message.Contains("\"-5\"", StringComparison.Ordinal));
        Assert.Contains(snapshot.Problems, p => p.Path.EndsWith("lockdown", StringComparison.Ordinal));
        Assert.Contains(snapshot.Problems, p => p.Path.EndsWith("weird,x", StringComparison.Ordinal));
    }

    [Fact]
    public void Binary_garbage_is_escaped_in_problems()
    {
        _fixture.AddPatch("bad").Function("f");
        _fixture.WriteBytes("sys/kernel/livepatch/bad/transition", [0x1b, 0x5b, 0x32, 0x4a, 0xff]);

        var problem = Assert.Single(Read().Problems);

        Assert.DoesNotContain('\x1b', problem.Message);
        Assert.Contains("\\x1b", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sympos_zero_reads_as_one_and_old_names_without_sympos_are_unique()
    {
        var builder = _fixture.AddPatch("p");
        builder.Object("vmlinux").Function("zero", 0).Function("second", 2);
        Directory.CreateDirectory(Path.Combine(_fixture.LivepatchDir, "p", "vmlinux", "old_style"));

        var functions = Read().Patches.Single().Objects.Single().Functions;

        Assert.Contains(new PatchFunction("zero", 1), functions);
        Assert.Contains(new PatchFunction("second", 2), functions);
        Assert.Contains(new PatchFunction("old_style", 1), functions);
    }

    [Fact]
    public void Snapshot_time_comes_from_the_time_provider()
    {
        _time.Advance(TimeSpan.FromMinutes(3));

        Assert.Equal(_time.GetUtcNow(), Read().TakenAt);
    }

    [Fact]
    public void Kernel_identity_is_reread_when_the_boot_id_changes()
    {
        var reader = new KernelSnapshotReader(new HostPaths(_fixture.Root), _time);
        Assert.Equal("6.1.0-56-amd64", reader.Read().Kernel.Release);

        _fixture.WithRelease("6.1.0-57-amd64");
        Assert.Equal("6.1.0-56-amd64", reader.Read().Kernel.Release); // same boot: cached, it cannot change

        _fixture.WithBootId("new-boot");
        Assert.Equal("6.1.0-57-amd64", reader.Read().Kernel.Release);
    }

    [Fact]
    public async Task Patches_appearing_and_vanishing_during_reads_never_break_a_snapshot()
    {
        var reader = new KernelSnapshotReader(new HostPaths(_fixture.Root), _time);
        _fixture.AddPatch("stable").Function("f");
        using var stop = new CancellationTokenSource();
        var churn = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                _fixture.AddPatch("flicker", transition: true).Object("vmlinux").Function("a").Function("b");
                _fixture.RemovePatch("flicker");
                _fixture.RemoveModule("flicker");
            }
        });

        for (var i = 0; i < 300; i++)
        {
            var snapshot = reader.Read();
            Assert.Contains(snapshot.Patches, p => p.Name == "stable");
            foreach (var patch in snapshot.Patches.Where(p => p.Name == "flicker"))
            {
                Assert.True(patch.Transition);
            }
        }

        await stop.CancelAsync();
        await churn;
    }
}

using System.Globalization;

namespace LivePatchAgent.Testing;

/// <summary>
/// Writes a temporary host root with the sysfs/procfs files the agent reads, in the layout of a given kernel.
/// Layout defaults to Linux 6.1 (Debian 12): no replace/stack_order attributes, objects have "patched".
/// </summary>
public sealed class SysfsFixture : IDisposable
{
    private SysfsFixture(string root) => Root = root;

    public string Root { get; }

    public string LivepatchDir => Path.Combine(Root, "sys/kernel/livepatch");

    /// <summary>The layout the next <see cref="AddPatch"/> writes.</summary>
    public KernelLayout Layout { get; private set; } = KernelLayout.Linux61;

    public static SysfsFixture Create(string release = "6.1.0-56-amd64")
    {
        var root = Path.Combine(Path.GetTempPath(), "lpa-fixture-" + Guid.NewGuid().ToString("N")[..12]);
        var fixture = new SysfsFixture(root);
        fixture.Write("proc/sys/kernel/osrelease", release + "\n");
        fixture.Write("proc/sys/kernel/version", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)\n");
        fixture.Write("proc/sys/kernel/random/boot_id", "3f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f\n");
        fixture.Write("proc/sys/kernel/tainted", "0\n");
        fixture.Write("proc/sys/kernel/modules_disabled", "0\n");
        fixture.Write("proc/sys/kernel/ftrace_enabled", "1\n");
        fixture.Write("proc/cmdline", "console=ttyS0 quiet\n");
        fixture.Write("sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
        fixture.Write("sys/module/module/parameters/sig_enforce", "N\n");
        fixture.Write("proc/modules", "virtio_net 73728 0 - Live 0x0000000000000000\nnet_failover 24576 1 virtio_net, Live 0x0000000000000000\n");
        Directory.CreateDirectory(fixture.LivepatchDir);
        return fixture;
    }

    public SysfsFixture WithLayout(KernelLayout layout)
    {
        Layout = layout;
        return this;
    }

    public SysfsFixture WithoutLivepatch()
    {
        Directory.Delete(LivepatchDir, recursive: true);
        return this;
    }

    public SysfsFixture WithRelease(string release) => Write("proc/sys/kernel/osrelease", release + "\n");

    public SysfsFixture WithBootId(string bootId) => Write("proc/sys/kernel/random/boot_id", bootId + "\n");

    public SysfsFixture WithTaint(ulong mask) => Write("proc/sys/kernel/tainted", mask.ToString(CultureInfo.InvariantCulture) + "\n");

    public SysfsFixture WithLockdown(string text) => Write("sys/kernel/security/lockdown", text + "\n");

    public SysfsFixture WithSigEnforce(bool on) => Write("sys/module/module/parameters/sig_enforce", on ? "Y\n" : "N\n");

    /// <summary>Writes /sys/kernel/notes with one GNU build-id note (and a preceding unrelated note).</summary>
    public SysfsFixture WithBuildId(byte[] buildId)
    {
        using var notes = new MemoryStream();
        WriteNote(notes, "Xen", 18, [1, 2, 3, 4]);
        WriteNote(notes, "GNU", 3, buildId);
        return WriteBytes("sys/kernel/notes", notes.ToArray());
    }

    /// <summary>
    /// Registers a patch and its module. The module's srcversion is written with its other files, as the kernel shows
    /// them together: a later write would let a poll see a srcversion the module never had.
    /// </summary>
    public PatchBuilder AddPatch(string name, bool enabled = true, bool transition = false, bool? replace = null, int? stackOrder = null,
        string srcVersion = "0123456789ABCDEF0123456")
    {
        var dir = Path.Combine(LivepatchDir, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "enabled"), enabled ? "1\n" : "0\n");
        File.WriteAllText(Path.Combine(dir, "transition"), transition ? "1\n" : "0\n");
        File.WriteAllText(Path.Combine(dir, "force"), string.Empty);
        if (Layout >= KernelLayout.Linux614)
        {
            File.WriteAllText(Path.Combine(dir, "replace"), replace == true ? "1\n" : "0\n");
            File.WriteAllText(Path.Combine(dir, "stack_order"), (stackOrder ?? 1).ToString(CultureInfo.InvariantCulture) + "\n");
        }

        var module = Path.Combine(Root, "sys/module", name);
        if (!Directory.Exists(module))
        {
            // The kernel lists modules newest first in /proc/modules; a patch's module is new when its patch is.
            var modules = Path.Combine(Root, "proc/modules");
            var listed = File.Exists(modules) ? File.ReadAllText(modules) : string.Empty;
            Write("proc/modules", $"{name} 16384 1 - Live 0x0000000000000000 (OEK)\n" + listed);
        }

        Directory.CreateDirectory(module);
        File.WriteAllText(Path.Combine(module, "refcnt"), "1\n");
        File.WriteAllText(Path.Combine(module, "taint"), "OEK\n");
        File.WriteAllText(Path.Combine(module, "initstate"), "live\n");
        File.WriteAllText(Path.Combine(module, "srcversion"), srcVersion + "\n");
        return new PatchBuilder(this, dir);
    }

    public SysfsFixture SetEnabled(string patch, bool enabled) =>
        Write($"sys/kernel/livepatch/{patch}/enabled", enabled ? "1\n" : "0\n");

    public SysfsFixture SetTransition(string patch, bool transition) =>
        Write($"sys/kernel/livepatch/{patch}/transition", transition ? "1\n" : "0\n");

    /// <summary>Removes the patch directory, as the kernel does after a disable or a replace.</summary>
    public SysfsFixture RemovePatch(string patch)
    {
        Directory.Delete(Path.Combine(LivepatchDir, patch), recursive: true);
        return this;
    }

    /// <summary>Removes /sys/module/&lt;name&gt;, as rmmod does.</summary>
    public SysfsFixture RemoveModule(string module)
    {
        Directory.Delete(Path.Combine(Root, "sys/module", module), recursive: true);
        var modules = Path.Combine(Root, "proc/modules");
        if (File.Exists(modules))
        {
            Write("proc/modules", string.Concat(File.ReadAllLines(modules).Where(l => l.Split(' ', 2)[0] != module).Select(l => l + "\n")));
        }

        return this;
    }

    /// <summary>
    /// Adds a thread under /proc: patch_state, comm, stack, and for the thread-group leader cmdline, stat and
    /// cgroup. A kernel thread has an empty cmdline and PF_KTHREAD in its stat flags.
    /// </summary>
    public SysfsFixture AddTask(int pid, int tid, string comm, int patchState, string[]? stack = null, string? cgroup = "0::/system.slice/test.service", bool kthread = false, string? cmdline = null)
    {
        var pidDir = $"proc/{pid.ToString(CultureInfo.InvariantCulture)}";
        var taskDir = $"{pidDir}/task/{tid.ToString(CultureInfo.InvariantCulture)}";
        Write($"{taskDir}/patch_state", patchState.ToString(CultureInfo.InvariantCulture) + "\n");
        Write($"{taskDir}/comm", comm + "\n");
        Write($"{taskDir}/stack", string.Concat((stack ?? []).Select(f => f + "\n")));
        if (!File.Exists(Path.Combine(Root, pidDir, "comm")))
        {
            Write($"{pidDir}/comm", comm + "\n");
            Write($"{pidDir}/cmdline", kthread ? string.Empty : (cmdline ?? comm).Replace(' ', '\0') + "\0");
            var flags = kthread ? 0x00208040U : 0x00400100U;
            Write($"{pidDir}/stat", $"{pid} ({comm}) S 1 {pid} {pid} 0 -1 {flags} 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n");
            if (cgroup is not null)
            {
                Write($"{pidDir}/cgroup", cgroup + "\n");
            }
        }

        return this;
    }

    /// <summary>Writes any file under the root, creating its directory.</summary>
    public SysfsFixture Write(string relative, string content)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Write then rename, so a poller never reads a half-written value.
        var temp = path + ".tmp";
        File.WriteAllText(temp, content);
        File.Move(temp, path, overwrite: true);
        return this;
    }

    public SysfsFixture WriteBytes(string relative, byte[] content)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return this;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static void WriteNote(Stream stream, string name, uint type, byte[] desc)
    {
        var nameBytes = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        Span<byte> header = stackalloc byte[12];
        BitConverter.TryWriteBytes(header, (uint)nameBytes.Length);
        BitConverter.TryWriteBytes(header[4..], (uint)desc.Length);
        BitConverter.TryWriteBytes(header[8..], type);
        stream.Write(header);
        stream.Write(nameBytes);
        stream.Write(new byte[(4 - (nameBytes.Length % 4)) % 4]);
        stream.Write(desc);
        stream.Write(new byte[(4 - (desc.Length % 4)) % 4]);
    }

    /// <summary>Adds objects and functions to a patch directory.</summary>
    public sealed class PatchBuilder(SysfsFixture fixture, string dir)
    {
        private string? _object;

        public SysfsFixture Fixture { get; } = fixture;

        public PatchBuilder Object(string name, bool? patched = true)
        {
            _object = Path.Combine(dir, name);
            Directory.CreateDirectory(_object);
            if (patched is { } value && Fixture.Layout >= KernelLayout.Linux61)
            {
                File.WriteAllText(Path.Combine(_object, "patched"), value ? "1\n" : "0\n");
            }

            return this;
        }

        public PatchBuilder Function(string name, int sympos = 1)
        {
            if (_object is null)
            {
                Object("vmlinux");
            }

            Directory.CreateDirectory(Path.Combine(_object!, $"{name},{sympos.ToString(CultureInfo.InvariantCulture)}"));
            return this;
        }
    }
}

/// <summary>The sysfs layouts the fixture can write.</summary>
public enum KernelLayout
{
    /// <summary>Before 6.1: objects have no "patched".</summary>
    Linux515,

    /// <summary>6.1: objects have "patched"; no replace/stack_order.</summary>
    Linux61,

    /// <summary>6.14+: "replace" (6.11) and "stack_order" (6.14) per patch.</summary>
    Linux614,
}

using System.Collections.Concurrent;
using System.Security.Cryptography;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Linux.Native;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// Stands in for the kernel behind a fixture tree, so the daemon's load and unload paths run end to end on a
/// machine where loading a module into the real kernel is out of the question. It follows the kernel's rules:
/// a load registers the patch in transition, the transition completes a little later, writing 0 to
/// <c>enabled</c> unpatches and frees the patch, and delete_module fails with EWOULDBLOCK while the patch is
/// registered. The real kernel is exercised by the QEMU scenarios in tests/e2e.
/// </summary>
internal sealed class SimulatedKernel : IKernelModuleLoader, IDisposable
{
    private readonly SysfsFixture _fixture;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, DateTime> _transitionSince = new();

    public SimulatedKernel(SysfsFixture fixture)
    {
        _fixture = fixture;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Errnos the next loads return, in order; 0 means "behave normally".</summary>
    public ConcurrentQueue<int> LoadErrnos { get; } = new();

    /// <summary>When set, every load fails with this errno.</summary>
    public int? AlwaysFailLoad { get; set; }

    /// <summary>SHA-256 of every image the kernel was handed.</summary>
    public ConcurrentQueue<string> LoadedSha256 { get; } = new();

    public int LoadCalls => LoadedSha256.Count;

    public TimeSpan TransitionTime { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Patches whose transition in one direction (true: patching, false: unpatching) never finishes on its own,
    /// as when a task sleeps in a function being replaced. The reversed transition is not held: the sleeping task
    /// is already in the state it converges on.
    /// </summary>
    public ConcurrentDictionary<string, bool> Stuck { get; } = new();

    /// <summary>
    /// Cumulative patches (klp_patch.replace): when one's patching transition completes, the kernel frees every
    /// other patch; their modules stay loaded with a reference count of 0 (leftovers).
    /// </summary>
    public ConcurrentDictionary<string, bool> Replacing { get; } = new();

    /// <summary>Called with the module name at every load the kernel accepts, before it registers the patch.</summary>
    public Action<string>? OnLoad { get; set; }

    public int Load(SealedModuleImage image)
    {
        var bytes = image.ReadAll();
        LoadedSha256.Enqueue(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        if (AlwaysFailLoad is { } always)
        {
            return always;
        }

        if (LoadErrnos.TryDequeue(out var errno) && errno != 0)
        {
            return errno;
        }

        var module = KernelModule.Parse(bytes, ElfMachine.Host);
        var name = module.Name;
        if (Directory.Exists(Path.Combine(_fixture.Root, "sys/module", name)))
        {
            return KernelModules.Eexist;
        }

        OnLoad?.Invoke(name);
        // As the kernel does: /sys/module/<name>/srcversion is the module's own from the start.
        _fixture.AddPatch(name, transition: true, srcVersion: module.ModInfo.SrcVersion is { Length: > 0 } s ? s : "0123456789ABCDEF0123456")
            .Object("vmlinux").Function("cmdline_proc_show");

        _transitionSince[name] = DateTime.UtcNow;
        return 0;
    }

    public int Remove(string name)
    {
        var module = Path.Combine(_fixture.Root, "sys/module", name);
        if (!Directory.Exists(module))
        {
            return KernelModules.Enoent;
        }

        if (Directory.Exists(Path.Combine(_fixture.LivepatchDir, name)))
        {
            return KernelModules.Eagain; // still registered: the patch holds a reference
        }

        _fixture.RemoveModule(name);
        return 0;
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var dirs = Directory.Exists(_fixture.LivepatchDir) ? Directory.GetDirectories(_fixture.LivepatchDir) : [];
            foreach (var dir in dirs)
            {
                var name = Path.GetFileName(dir);
                try
                {
                    var enabled = File.ReadAllText(Path.Combine(dir, "enabled")).Trim() == "1";
                    var transition = File.ReadAllText(Path.Combine(dir, "transition")).Trim() == "1";
                    var forced = File.ReadAllText(Path.Combine(dir, "force")).Trim() == "1";
                    var stuck = Stuck.TryGetValue(name, out var stuckDirection) && stuckDirection == enabled && !forced;
                    if (!enabled && !transition)
                    {
                        _fixture.SetTransition(name, true); // a disable starts the unpatching transition
                    }
                    else if (!enabled && !stuck)
                    {
                        _fixture.RemovePatch(name); // unpatching finished: the kernel frees the patch
                    }
                    else if (enabled && transition && (forced || (!stuck && _transitionSince.TryGetValue(name, out var since) && DateTime.UtcNow - since > TransitionTime)))
                    {
                        _fixture.SetTransition(name, false);
                        File.WriteAllText(Path.Combine(dir, "force"), string.Empty);
                        if (Replacing.ContainsKey(name))
                        {
                            foreach (var other in Directory.GetDirectories(_fixture.LivepatchDir).Select(Path.GetFileName).Where(o => o != name))
                            {
                                _fixture.RemovePatch(other!);
                                _fixture.Write($"sys/module/{other}/refcnt", "0\n");
                            }
                        }
                    }
                }
                catch (IOException)
                {
                    // Raced with the daemon or the test; look again on the next round.
                }
            }

            try
            {
                await Task.Delay(25, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }
}

using System.Collections.Immutable;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Linux.Native;

namespace LivePatchAgent.Linux.Sysfs;

/// <summary>
/// Takes a <see cref="KernelSnapshot"/> from sysfs and procfs under <see cref="HostPaths"/>. A patch whose
/// directory vanishes while it is being read is left out of that snapshot without an error; a value that
/// cannot be parsed is reported as a <see cref="ReadProblem"/> with its path and the bad value.
/// </summary>
public sealed class KernelSnapshotReader(HostPaths paths, TimeProvider timeProvider)
{
    private const string VmlinuxObject = "vmlinux";
    private readonly Lock _identityLock = new();
    private readonly Lock _moduleLock = new();
    private readonly Dictionary<string, bool> _isLivepatchModule = new(StringComparer.Ordinal);
    private readonly Lock _patchLock = new();
    private Dictionary<string, PatchInstance> _instances = new(StringComparer.Ordinal);
    private Dictionary<string, (FileIdentity Identity, LivePatch Patch)> _lastRead = new(StringComparer.Ordinal);
    private Dictionary<string, (int Order, StackOrderSource Source)>? _order;
    private KernelIdentity? _identity;

    public HostPaths Paths { get; } = paths;

    public KernelSnapshot Read()
    {
        // Stamped before the first read: what the snapshot shows was there at that time or later. A stamp taken after
        // the reads would date a listing made before a module loaded later than that load, and a reader comparing
        // the two (a loaded patch's record, LoadedPatchRecord.Describes) would take the module for gone.
        var takenAt = timeProvider.GetUtcNow();
        var problems = new List<ReadProblem>();
        var facts = ReadFacts(problems);
        var patches = facts.LivepatchSupported ? ReadPatches(problems) : [];
        return new KernelSnapshot
        {
            TakenAt = takenAt,
            Kernel = facts,
            Patches = patches,
            Leftovers = facts.LivepatchSupported ? ReadLeftovers(patches, problems) : [],
            Problems = [.. problems],
        };
    }

    private KernelFacts ReadFacts(List<ReadProblem> problems)
    {
        var identity = ReadIdentity();
        return new KernelFacts
        {
            Release = identity.Release,
            Version = identity.Version,
            BootId = identity.BootId,
            BuildId = identity.BuildId,
            Taint = ReadULong(Paths.Tainted, problems) is { } taint ? new TaintMask(taint) : null,
            Lockdown = ReadLockdown(problems),
            SigEnforce = ReadBool(Paths.SigEnforce, problems),
            ModulesDisabled = ReadBool(Paths.ModulesDisabled, problems),
            FtraceEnabled = ReadBool(Paths.FtraceEnabled, problems),
            LivepatchSupported = Directory.Exists(Paths.Livepatch),
        };
    }

    /// <summary>
    /// Release, version and build-id cannot change without a new boot, so they are read once per boot id;
    /// the poll loop then costs one read for them.
    /// </summary>
    private KernelIdentity ReadIdentity()
    {
        var bootId = ReadText(Paths.BootId);
        lock (_identityLock)
        {
            if (_identity is { } cached && bootId is not null && cached.BootId == bootId)
            {
                return cached;
            }

            var notes = SysfsFile.TryReadBytes(Paths.KernelNotes, maxBytes: 64 * 1024);
            var identity = new KernelIdentity(
                bootId,
                ReadText(Paths.OsRelease),
                ReadText(Paths.KernelVersion),
                notes is null ? null : ElfNotes.FindGnuBuildId(notes));
            _identity = identity;
            return identity;
        }
    }

    private string? ReadLockdown(List<ReadProblem> problems)
    {
        if (SysfsFile.TryRead(Paths.Lockdown, out var text, out _) != SysfsFile.Status.Ok)
        {
            return null;
        }

        // "[none] integrity confidentiality": the active mode is the bracketed one.
        var open = text.IndexOf('[', StringComparison.Ordinal);
        var close = text.IndexOf(']', StringComparison.Ordinal);
        if (open < 0 || close <= open)
        {
            problems.Add(new ReadProblem(Paths.Lockdown, $"cannot find the active mode in \"{text}\""));
            return null;
        }

        return text[(open + 1)..close];
    }

    /// <summary>
    /// Reads every registered patch. What a patch instance cannot change while it is registered (its objects and
    /// functions, <c>replace</c>, its module's taint and srcversion) is read once per instance and kept; a poll re-reads
    /// only <c>enabled</c>, <c>transition</c> and each object's <c>patched</c>, so the idle cost does not grow with the
    /// number of functions. The vmlinux object's <c>patched</c> changes only inside a transition of its patch, so it is
    /// carried over while the patch stays idle (see <see cref="Settled"/>). The module's refcnt and initstate are left out of the poll: nothing the daemon decides
    /// reads them, and an answer that shows them reads them when asked (<see cref="WithModuleState"/>). The stacking order can only change when the set of
    /// patches does, so it is read again only then.
    /// </summary>
    private ImmutableArray<LivePatch> ReadPatches(List<ReadProblem> problems)
    {
        var patches = new List<LivePatch>();
        var seen = new Dictionary<string, PatchInstance>(StringComparer.Ordinal);
        foreach (var dir in ListDirectories(Paths.Livepatch))
        {
            if (ReadPatch(dir, problems) is { } read)
            {
                patches.Add(read.Patch);
                // The kernel adds the patch directory before its object and function directories (klp_init_patch),
                // so a read during the module's init can see a half-built patch: remember only a complete one.
                if (read.Instance.IsComplete)
                {
                    seen[read.Patch.Name] = read.Instance;
                }
            }
        }

        lock (_patchLock)
        {
            _lastRead = patches.Where(p => seen.ContainsKey(p.Name)).ToDictionary(p => p.Name, p => (seen[p.Name].Identity, p), StringComparer.Ordinal);
            var sameSet = seen.Count == _instances.Count && seen.All(kv => _instances.TryGetValue(kv.Key, out var known) && known == kv.Value);
            _instances = seen;
            var order = _order;
            if (!sameSet || order is null)
            {
                order = ReadStackOrder(patches, problems, out var complete);
                _order = complete ? order : null;
            }

            patches = [.. patches.Select(p => order.TryGetValue(p.Name, out var position)
                ? p with { StackOrder = position.Order, StackOrderSource = position.Source }
                : p)];
        }

        // The kernel's stacking order when known, else a stable order by name.
        return [.. patches.OrderBy(p => p.StackOrder ?? int.MaxValue).ThenBy(p => p.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The stacking order: the <c>stack_order</c> attribute (6.14+), or else the order the patch modules were loaded
    /// in. The kernel registers a patch from its module's init, and /proc/modules lists modules newest first, so the
    /// reversed list is the registration order; that also covers patches loaded behind the daemon's back.
    /// </summary>
    private Dictionary<string, (int Order, StackOrderSource Source)> ReadStackOrder(List<LivePatch> patches, List<ReadProblem> problems, out bool complete)
    {
        var order = new Dictionary<string, (int, StackOrderSource)>(StringComparer.Ordinal);
        complete = true;
        if (patches.Count == 0)
        {
            return order;
        }

        var fromSysfs = patches.Select(p => (p.Name, Order: ReadInt(Path.Combine(Paths.PatchDir(p.Name), "stack_order"), problems))).ToList();
        if (fromSysfs.All(p => p.Order is not null))
        {
            foreach (var (name, position) in fromSysfs)
            {
                order[name] = (position!.Value, StackOrderSource.Sysfs);
            }

            return order;
        }

        if (SysfsFile.TryReadBytes(Paths.ProcModules) is not { } modules)
        {
            problems.Add(new ReadProblem(Paths.ProcModules, "cannot read the module list, so the stacking order of the patches is unknown"));
            return order;
        }

        var registered = patches.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var newestFirst = System.Text.Encoding.UTF8.GetString(modules).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2)[0])
            .Where(registered.Contains)
            .ToList();
        if (newestFirst.Count != registered.Count)
        {
            // A patch whose module is not listed (a race with a load or an unload): ask again at the next poll.
            complete = false;
            return order;
        }

        for (var i = 0; i < newestFirst.Count; i++)
        {
            order[newestFirst[i]] = (newestFirst.Count - i, StackOrderSource.ModuleLoadOrder);
        }

        return order;
    }

    private (LivePatch Patch, PatchInstance Instance)? ReadPatch(string dir, List<ReadProblem> problems)
    {
        var name = Path.GetFileName(dir);
        FileIdentity? identity;
        try
        {
            identity = FileKinds.IdentityOf(dir);
        }
        catch (IOException e)
        {
            problems.Add(new ReadProblem(dir, $"cannot stat: {e.Message}"));
            return null;
        }

        if (identity is null
            || !TryReadRequiredBool(Path.Combine(dir, "enabled"), problems, out var enabled)
            || !TryReadRequiredBool(Path.Combine(dir, "transition"), problems, out var transition))
        {
            return null;
        }

        PatchInstance? instance;
        lock (_patchLock)
        {
            instance = _instances.TryGetValue(name, out var known) && known.Identity == identity ? known : null;
        }

        instance ??= ReadInstance(name, dir, identity.Value, problems);
        if (instance is null)
        {
            return null;
        }

        var settled = Settled(name, identity.Value, enabled, transition);
        var objects = instance.Objects.Select(o => o with
        {
            Patched = o.Name == VmlinuxObject && settled?.Objects.FirstOrDefault(k => k.Name == VmlinuxObject)?.Patched is { } kept
                ? kept
                : ReadBool(Path.Combine(dir, o.Name, "patched"), problems),
        });
        var patch = new LivePatch
        {
            Name = name,
            Enabled = enabled,
            Transition = transition,
            Replace = instance.Replace,
            Objects = [.. objects],
            Module = instance.Module,
        };
        return (patch, instance);
    }

    /// <summary>
    /// The previous poll's reading of this patch instance when neither then nor now was it in transition and its
    /// <c>enabled</c> did not change; null otherwise. The kernel sets the vmlinux object's <c>patched</c> only while
    /// patching or unpatching that patch (klp_patch_object and klp_unpatch_objects run inside its transition, and an
    /// atomic replace clears <c>enabled</c> of the patches it replaces), so a settled patch's value still holds. A
    /// module's object is different: it is patched when that module loads, with no transition, and is read every time.
    /// </summary>
    private LivePatch? Settled(string name, FileIdentity identity, bool enabled, bool transition)
    {
        if (transition)
        {
            return null;
        }

        lock (_patchLock)
        {
            return _lastRead.TryGetValue(name, out var last) && last.Identity == identity
                && !last.Patch.Transition && last.Patch.Enabled == enabled
                ? last.Patch
                : null;
        }
    }

    /// <summary>What does not change while a patch stays registered; null when it vanished while being read.</summary>
    private PatchInstance? ReadInstance(string name, string dir, FileIdentity identity, List<ReadProblem> problems)
    {
        var objects = ImmutableArray.CreateBuilder<PatchObject>();
        foreach (var objectDir in ListDirectories(dir))
        {
            objects.Add(new PatchObject
            {
                Name = Path.GetFileName(objectDir),
                Functions = ReadFunctions(objectDir, problems),
            });
        }

        var module = Paths.ModuleDir(name);
        var taint = ReadText(Path.Combine(module, "taint"));
        var srcVersion = ReadText(Path.Combine(module, "srcversion"));
        var instance = new PatchInstance(
            identity,
            [.. objects.OrderBy(o => o.Name == VmlinuxObject ? 0 : 1).ThenBy(o => o.Name, StringComparer.Ordinal)],
            ReadBool(Path.Combine(dir, "replace"), problems),
            taint is null && srcVersion is null && !Directory.Exists(module) ? null : new ModuleFacts { Taint = taint, SrcVersion = srcVersion });

        // Read from another directory of the same name (removed and registered again meanwhile)? Do not keep it.
        return FileKinds.IdentityOf(dir) == identity ? instance : null;
    }

    /// <summary>
    /// Finds loaded modules tainted K (live patches) that have no patch directory. A module's taint is fixed at
    /// load, so it is read once per module name and remembered while the module stays loaded: the poll costs
    /// one directory listing of /sys/module.
    /// </summary>
    private ImmutableArray<LeftoverModule> ReadLeftovers(ImmutableArray<LivePatch> patches, List<ReadProblem> problems)
    {
        var loaded = ListDirectories(Paths.SysModule).Select(Path.GetFileName).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var registered = patches.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var leftovers = ImmutableArray.CreateBuilder<LeftoverModule>();
        lock (_moduleLock)
        {
            foreach (var gone in _isLivepatchModule.Keys.Where(k => !loaded.Contains(k)).ToList())
            {
                _isLivepatchModule.Remove(gone);
            }

            foreach (var name in loaded.Where(n => !registered.Contains(n)).Order(StringComparer.Ordinal))
            {
                if (!_isLivepatchModule.TryGetValue(name, out var isLivepatch))
                {
                    // Built-in modules have no taint file: not a live patch.
                    isLivepatch = ReadText(Path.Combine(Paths.ModuleDir(name), "taint"))?.Contains('K', StringComparison.Ordinal) == true;
                    _isLivepatchModule[name] = isLivepatch;
                }

                if (isLivepatch && ReadModule(name, problems) is { } facts)
                {
                    leftovers.Add(new LeftoverModule(name, facts));
                }
            }
        }

        return leftovers.ToImmutable();
    }

    private static ImmutableArray<PatchFunction> ReadFunctions(string objectDir, List<ReadProblem> problems)
    {
        var functions = ImmutableArray.CreateBuilder<PatchFunction>();
        foreach (var functionDir in ListDirectories(objectDir))
        {
            var entry = Path.GetFileName(functionDir);
            var comma = entry.LastIndexOf(',');
            if (comma < 0)
            {
                // Kernels before 4.5 named the directory without ",sympos"; names were unique then.
                functions.Add(new PatchFunction(entry, 1));
                continue;
            }

            if (SysfsFile.ParseInt(entry[(comma + 1)..]) is not { } sympos || sympos < 0)
            {
                problems.Add(new ReadProblem(functionDir, $"cannot parse the symbol position in \"{entry}\""));
                continue;
            }

            // The kernel shows sympos 0 ("unique") as 1.
            functions.Add(new PatchFunction(entry[..comma], Math.Max(sympos, 1)));
        }

        return [.. functions.OrderBy(f => f.Name, StringComparer.Ordinal).ThenBy(f => f.Sympos)];
    }

    /// <summary>
    /// <paramref name="patch"/> with its module's refcnt and initstate as they are now. The poll leaves them out (they
    /// are shown, never decided on); <c>lpctl list</c>, <c>lpctl info</c> and D-Bus <c>GetPatch</c> read them here.
    /// </summary>
    public LivePatch WithModuleState(LivePatch patch)
    {
        var dir = Paths.ModuleDir(patch.Name);
        var refCount = ReadInt(Path.Combine(dir, "refcnt"), problems: null);
        var initState = ReadText(Path.Combine(dir, "initstate"));
        return refCount is null && initState is null
            ? patch
            : patch with { Module = (patch.Module ?? new ModuleFacts()) with { RefCount = refCount, InitState = initState } };
    }

    /// <summary>/sys/module/&lt;name&gt; of a module that is not a registered patch (a leftover); null when it is gone.</summary>
    private ModuleFacts? ReadModule(string name, List<ReadProblem> problems)
    {
        var dir = Paths.ModuleDir(name);
        var refCount = ReadInt(Path.Combine(dir, "refcnt"), problems);
        var initState = ReadText(Path.Combine(dir, "initstate"));
        if (refCount is null && initState is null && !Directory.Exists(dir))
        {
            return null;
        }

        return new ModuleFacts
        {
            RefCount = refCount,
            Taint = ReadText(Path.Combine(dir, "taint")),
            SrcVersion = ReadText(Path.Combine(dir, "srcversion")),
            InitState = initState,
        };
    }

    private static string[] ListDirectories(string path)
    {
        string[] entries;
        try
        {
            entries = Directory.GetDirectories(path);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            // The directory went away (or was never there): nothing to list in this snapshot.
            return [];
        }

        Array.Sort(entries, StringComparer.Ordinal);
        return entries;
    }

    private static string? ReadText(string path) =>
        SysfsFile.TryRead(path, out var value, out _) == SysfsFile.Status.Ok ? value.Trim() : null;

    private static bool TryReadRequiredBool(string path, List<ReadProblem> problems, out bool value)
    {
        value = false;
        switch (SysfsFile.TryRead(path, out var text, out var error))
        {
            case SysfsFile.Status.Missing:
                return false;
            case SysfsFile.Status.Unreadable:
                problems.Add(new ReadProblem(path, $"cannot read: {error}"));
                return false;
        }

        if (SysfsFile.ParseBool(text) is not { } parsed)
        {
            problems.Add(new ReadProblem(path, $"cannot parse \"{Printable(text)}\" as 0 or 1"));
            return false;
        }

        value = parsed;
        return true;
    }

    private static bool? ReadBool(string path, List<ReadProblem> problems)
    {
        if (SysfsFile.TryRead(path, out var text, out _) != SysfsFile.Status.Ok)
        {
            return null;
        }

        var parsed = SysfsFile.ParseBool(text);
        if (parsed is null)
        {
            problems.Add(new ReadProblem(path, $"cannot parse \"{Printable(text)}\" as a boolean"));
        }

        return parsed;
    }

    private static int? ReadInt(string path, List<ReadProblem>? problems)
    {
        if (SysfsFile.TryRead(path, out var text, out _) != SysfsFile.Status.Ok)
        {
            return null;
        }

        var parsed = SysfsFile.ParseInt(text);
        if (parsed is null)
        {
            problems?.Add(new ReadProblem(path, $"cannot parse \"{Printable(text)}\" as an integer"));
        }

        return parsed;
    }

    private static ulong? ReadULong(string path, List<ReadProblem> problems)
    {
        if (SysfsFile.TryRead(path, out var text, out _) != SysfsFile.Status.Ok)
        {
            return null;
        }

        var parsed = SysfsFile.ParseULong(text);
        if (parsed is null)
        {
            problems.Add(new ReadProblem(path, $"cannot parse \"{Printable(text)}\" as an unsigned integer"));
        }

        return parsed;
    }

    /// <summary>Keeps a hostile or binary value from breaking a log line or a terminal.</summary>
    private static string Printable(string text)
    {
        var clipped = text.Length > 64 ? text[..64] + "..." : text;
        return string.Concat(clipped.Select(c => c is < ' ' or > '~' ? $"\\x{(int)c:x2}" : c.ToString()));
    }

    private sealed record KernelIdentity(string? BootId, string? Release, string? Version, string? BuildId);

    /// <summary>One registered patch directory, as it was when first read: what cannot change until it goes.</summary>
    private sealed record PatchInstance(FileIdentity Identity, ImmutableArray<PatchObject> Objects, bool? Replace, ModuleFacts? Module)
    {
        /// <summary>Every registered patch patches at least one object and every object at least one function.</summary>
        public bool IsComplete => !Objects.IsEmpty && Objects.All(o => !o.Functions.IsEmpty);
    }
}

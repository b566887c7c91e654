using System.Collections.Immutable;
using System.Globalization;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Transitions;
using LivePatchAgent.Linux.Sysfs;

namespace LivePatchAgent.Linux.Procfs;

/// <summary>
/// Finds the threads that hold a transition back: every /proc/&lt;pid&gt;/task/&lt;tid&gt;/patch_state that
/// differs from the target state (-1 means the transition already ended for it). Threads come and go during the
/// scan; a vanished one is simply not reported. Idle ("swapper") tasks are not in /proc, so an empty result while
/// the transition still runs means the holders are invisible, not that there are none.
/// </summary>
public sealed class BlockingTaskScanner(HostPaths paths)
{
    /// <summary>PF_KTHREAD in /proc/&lt;pid&gt;/stat's flags field.</summary>
    private const uint PfKthread = 0x00200000;

    private static readonly string[] UnitSuffixes = [".service", ".scope", ".socket", ".mount", ".timer", ".swap", ".path"];

    /// <summary>Scans every thread; with <paramref name="patch"/>, also reads stacks and matches them against its functions.</summary>
    public BlockingScan Scan(bool targetPatched, LivePatch? patch, bool includeStacks)
    {
        var target = targetPatched ? 1 : 0;
        var blocking = ImmutableArray.CreateBuilder<BlockingTask>();
        var threads = 0;
        foreach (var pidDir in NumericDirectories(paths.Proc))
        {
            var pid = int.Parse(Path.GetFileName(pidDir), NumberStyles.None, CultureInfo.InvariantCulture);
            ProcessFacts? process = null;
            foreach (var taskDir in NumericDirectories(Path.Combine(pidDir, "task")))
            {
                threads++;
                if (SysfsFile.TryRead(Path.Combine(taskDir, "patch_state"), out var text, out _) != SysfsFile.Status.Ok
                    || SysfsFile.ParseInt(text) is not { } state
                    || state == -1
                    || state == target)
                {
                    continue;
                }

                process ??= ReadProcess(pidDir);
                var tid = int.Parse(Path.GetFileName(taskDir), NumberStyles.None, CultureInfo.InvariantCulture);
                var (stack, problem) = includeStacks ? ReadStack(taskDir) : ([], null);
                blocking.Add(new BlockingTask
                {
                    Pid = pid,
                    Tid = tid,
                    Comm = ReadLine(Path.Combine(taskDir, "comm")) ?? process.Comm,
                    Cmdline = process.Cmdline,
                    IsKernelThread = process.IsKernelThread,
                    Unit = process.Unit,
                    Stack = stack,
                    StackProblem = problem,
                    PatchState = state,
                    HeldBy = patch is null || stack.IsEmpty ? null : StackMatcher.Match(stack, patch),
                });
            }
        }

        return new BlockingScan(blocking.ToImmutable(), threads);
    }

    /// <summary>
    /// Counts every thread and those not yet in the target state: the running transition's progress. Reads only
    /// patch_state, one small file per thread; a thread that vanishes meanwhile is not counted.
    /// </summary>
    public TransitionProgress CountProgress(bool targetPatched)
    {
        var target = targetPatched ? 1 : 0;
        int total = 0, pending = 0;
        foreach (var pidDir in NumericDirectories(paths.Proc))
        {
            foreach (var taskDir in NumericDirectories(Path.Combine(pidDir, "task")))
            {
                if (SysfsFile.TryRead(Path.Combine(taskDir, "patch_state"), out var text, out _) != SysfsFile.Status.Ok
                    || SysfsFile.ParseInt(text) is not { } state)
                {
                    continue;
                }

                total++;
                if (state != -1 && state != target)
                {
                    pending++;
                }
            }
        }

        return new TransitionProgress(total, pending);
    }

    private static IEnumerable<string> NumericDirectories(string path)
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateDirectories(path);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            return [];
        }

        return Filter(entries);

        static IEnumerable<string> Filter(IEnumerable<string> entries)
        {
            using var e = entries.GetEnumerator();
            while (true)
            {
                string current;
                try
                {
                    if (!e.MoveNext())
                    {
                        yield break;
                    }

                    current = e.Current;
                }
                catch (Exception ex) when (ex is DirectoryNotFoundException or IOException or UnauthorizedAccessException)
                {
                    // The process exited while its directory was being listed.
                    yield break;
                }

                var name = Path.GetFileName(current.AsSpan());
                if (!name.IsEmpty && char.IsAsciiDigit(name[0]) && int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    yield return current;
                }
            }
        }
    }

    private static ProcessFacts ReadProcess(string pidDir)
    {
        var cmdline = SysfsFile.TryRead(Path.Combine(pidDir, "cmdline"), out var raw, out _) == SysfsFile.Status.Ok
            ? raw.Replace('\0', ' ').Trim()
            : string.Empty;
        return new ProcessFacts(
            ReadLine(Path.Combine(pidDir, "comm")) ?? "?",
            cmdline,
            IsKernelThread(pidDir),
            UnitOf(pidDir));
    }

    private static bool IsKernelThread(string pidDir)
    {
        // /proc/<pid>/stat: "pid (comm) state ppid ... flags" — comm may contain spaces and parentheses, so
        // fields are counted from the last ')'. flags is the 9th field, the 7th after the comm.
        if (SysfsFile.TryRead(Path.Combine(pidDir, "stat"), out var stat, out _) != SysfsFile.Status.Ok)
        {
            return false;
        }

        var close = stat.LastIndexOf(')');
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 6 && uint.TryParse(fields[6], NumberStyles.None, CultureInfo.InvariantCulture, out var flags) && (flags & PfKthread) != 0;
    }

    /// <summary>The systemd unit of a process: the innermost unit in its cgroup path.</summary>
    private static string? UnitOf(string pidDir)
    {
        if (SysfsFile.TryRead(Path.Combine(pidDir, "cgroup"), out var text, out _) != SysfsFile.Status.Ok)
        {
            return null;
        }

        // cgroup v2: "0::/system.slice/sshd.service"; v1 lines "N:name=systemd:/..." name the same path.
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))
            ?? text.Split('\n').FirstOrDefault(l => l.Contains(":name=systemd:", StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }

        var path = line[(line.IndexOf(":/", StringComparison.Ordinal) + 1)..];
        return path.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .LastOrDefault(part => UnitSuffixes.Any(s => part.EndsWith(s, StringComparison.Ordinal)));
    }

    private static (ImmutableArray<string> Stack, string? Problem) ReadStack(string taskDir)
    {
        return SysfsFile.TryRead(Path.Combine(taskDir, "stack"), out var text, out var error) switch
        {
            SysfsFile.Status.Ok => ([.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)], null),
            SysfsFile.Status.Unreadable => ([], $"cannot read the kernel stack: {error}"),
            _ => ([], null),
        };
    }

    private static string? ReadLine(string path) =>
        SysfsFile.TryRead(path, out var value, out _) == SysfsFile.Status.Ok ? value.Trim() : null;

    private sealed record ProcessFacts(string Comm, string Cmdline, bool IsKernelThread, string? Unit);
}

/// <summary>The result of one scan.</summary>
/// <param name="Tasks">The blocking threads.</param>
/// <param name="ThreadsScanned">How many threads were looked at.</param>
public sealed record BlockingScan(ImmutableArray<BlockingTask> Tasks, int ThreadsScanned);

using System.Runtime.InteropServices;

namespace LivePatchAgent.Linux.Native;

/// <summary>
/// Kicks a process blocked in the kernel so it returns to user space and switches patch state: SIGSTOP then
/// SIGCONT, the method the kernel's livepatch documentation describes (and warns may be harmful, so it is
/// opt-in). An interface so tests never signal real processes that happen to share a fixture's pid.
/// </summary>
public interface ITaskSignaller
{
    /// <summary>Sends SIGSTOP then SIGCONT; 0 or an errno (ESRCH when the process is gone).</summary>
    int StopAndContinue(int pid);
}

/// <summary>The real kill(2).</summary>
public sealed partial class TaskSignaller : ITaskSignaller
{
    private const int Sigcont = 18;
    private const int Sigstop = 19;

    public int StopAndContinue(int pid)
    {
        if (pid <= 1)
        {
            // Never pid 0 (the caller's group), -1 (everything) or init.
            return KernelModules.Eperm;
        }

        if (Kill(pid, Sigstop) != 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        // SIGCONT always follows, even if a later step fails: a stopped service is worse than a stalled patch.
        return Kill(pid, Sigcont) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

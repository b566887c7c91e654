using System.Runtime.InteropServices;

namespace LivePatchAgent.Linux.Native;

/// <summary>What a group name lookup found.</summary>
public enum GroupLookupStatus
{
    Found,

    /// <summary>No source in the group database knows the name.</summary>
    NotFound,

    /// <summary>The lookup itself failed (a source such as sssd or LDAP did not answer, or out of memory).</summary>
    Failed,
}

/// <summary>The answer to one group name lookup: the gid when found, otherwise what went wrong.</summary>
public sealed record GroupLookup(GroupLookupStatus Status, uint Gid, string Problem)
{
    public static GroupLookup Found(uint gid) => new(GroupLookupStatus.Found, gid, string.Empty);

    public static GroupLookup NotFound(string name) => new(GroupLookupStatus.NotFound, 0, $"there is no group \"{name}\" in the group database");

    public static GroupLookup Failed(string problem) => new(GroupLookupStatus.Failed, 0, problem);
}

/// <summary>
/// Group names resolved the way every other program on the host resolves them: getgrnam_r(3), so every source
/// that the "group:" line of /etc/nsswitch.conf names counts (files, sssd, LDAP, winbind, systemd). Reading
/// /etc/group by hand would miss every group that a directory service provides.
/// </summary>
/// <remarks>
/// getgrnam_r is bound in the process's global symbol scope (the main program and what it was linked and
/// preloaded with), as a C program's call would be, not in a dlopen'ed handle of libc, where .NET would bind
/// "libc" by default: a preloaded interposer (nss_wrapper, which the tests use for a group that exists only
/// through NSS) then sees the call, as it sees getent's.
/// </remarks>
public static partial class GroupDatabase
{
    private const string GlobalScope = "livepatchagent-global-scope";
    /// <summary>What glibc's getgrnam_r is first given; a group with many members needs more (ERANGE).</summary>
    public const int DefaultBufferSize = 1024;

    /// <summary>
    /// No group entry is larger than this: the line of a group with ~100,000 members. The bound keeps a broken
    /// NSS module that answers ERANGE forever from growing the buffer without end.
    /// </summary>
    public const int MaxBufferSize = 16 << 20;

    private const int Eperm = 1;
    private const int Enoent = 2;
    private const int Esrch = 3;
    private const int Eintr = 4;
    private const int Ebadf = 9;
    private const int Erange = 34;

    static GroupDatabase() => NativeLibrary.SetDllImportResolver(typeof(GroupDatabase).Assembly,
        static (name, _, _) => name == GlobalScope ? NativeLibrary.GetMainProgramHandle() : IntPtr.Zero);

    /// <summary>
    /// Looks <paramref name="name"/> up. Blocks for as long as the slowest NSS source takes: a caller that must not
    /// hang runs it with a timeout of its own.
    /// </summary>
    public static unsafe GroupLookup Lookup(string name, int initialBufferSize = DefaultBufferSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(initialBufferSize, 1);
        var size = initialBufferSize;
        while (true)
        {
            var buffer = new byte[size];
            GroupEntry entry;
            GroupEntry* result;
            int error;
            fixed (byte* data = buffer)
            {
                error = GetGroupByName(name, &entry, data, (nuint)buffer.Length, &result);
            }

            switch (error)
            {
                case 0:
                    return result is null ? GroupLookup.NotFound(name) : GroupLookup.Found(entry.Gid);
                case Erange when size < MaxBufferSize:
                    size = (int)Math.Min((long)size * 2, MaxBufferSize);
                    continue;
                case Erange:
                    return GroupLookup.Failed($"the entry of group \"{name}\" is larger than {MaxBufferSize >> 20} MiB");
                case Eintr:
                    continue;
                // getgrnam_r(3): "0 or ENOENT or ESRCH or EBADF or EPERM or ... The given name was not found."
                case Enoent or Esrch or Ebadf or Eperm:
                    return GroupLookup.NotFound(name);
                default:
                    return GroupLookup.Failed($"looking up group \"{name}\" failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})");
            }
        }
    }

    /// <summary>struct group: the same layout on x86_64 and aarch64 (LP64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct GroupEntry
    {
        public nint Name;
        public nint Password;
        public uint Gid;
        public nint Members;
    }

    // Returns an errno value itself rather than through errno.
    [LibraryImport(GlobalScope, EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int GetGroupByName(string name, GroupEntry* entry, byte* buffer, nuint length, GroupEntry** result);
}

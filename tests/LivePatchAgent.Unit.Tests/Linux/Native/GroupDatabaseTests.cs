using LivePatchAgent.Linux.Native;

namespace LivePatchAgent.Unit.Tests.Linux.Native;

/// <summary>
/// The real getgrnam_r of this machine. A group that exists only through NSS (not in /etc/group) is covered by
/// the integration test that runs livepatchd under nss_wrapper (DaemonAuthorizationTests).
/// </summary>
public sealed class GroupDatabaseTests
{
    [Fact]
    public void The_root_group_is_gid_0()
    {
        var root = GroupDatabase.Lookup("root");

        Assert.Equal(GroupLookup.Found(0), root);
    }

    [Fact]
    public void A_buffer_too_small_for_the_entry_is_grown_until_it_fits()
    {
        // "root" + "x" + the member pointer array do not fit in 8 bytes: glibc answers ERANGE until the buffer grows.
        var root = GroupDatabase.Lookup("root", initialBufferSize: 8);

        Assert.Equal(GroupLookupStatus.Found, root.Status);
        Assert.Equal(0u, root.Gid);
    }

    [Fact]
    public void An_unknown_group_is_not_found_with_a_message_naming_it()
    {
        var lookup = GroupDatabase.Lookup("lpa-no-such-group-" + Guid.NewGuid().ToString("N")[..8]);

        Assert.Equal(GroupLookupStatus.NotFound, lookup.Status);
        Assert.StartsWith("there is no group \"lpa-no-such-group-", lookup.Problem, StringComparison.Ordinal);
    }
}

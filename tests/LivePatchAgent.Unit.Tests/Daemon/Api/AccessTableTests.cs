using Google.Protobuf.Reflection;
using LivePatchAgent.Daemon.Api;

namespace LivePatchAgent.Unit.Tests.Daemon.Api;

public sealed class AccessTableTests
{
    private static readonly ServiceDescriptor[] Served =
    [
        Protocol.V1.Agent.Descriptor,
        Grpc.Health.V1.Health.Descriptor,
        Grpc.Reflection.V1Alpha.ServerReflection.Descriptor,
        Grpc.Reflection.V1.ServerReflection.Descriptor,
    ];

    private static IEnumerable<string> ServedMethods =>
        Served.SelectMany(s => s.Methods.Select(m => AccessTable.Full(s.FullName, m.Name)));

    [Fact]
    public void Every_served_rpc_is_classified() =>
        Assert.All(ServedMethods, m => Assert.True(AccessTable.Methods.ContainsKey(m), $"{m} is missing from AccessTable"));

    [Fact]
    public void The_table_names_no_rpc_that_is_not_served() =>
        Assert.All(AccessTable.Methods.Keys, m => Assert.Contains(m, ServedMethods));

    [Fact]
    public void Every_mutation_needs_an_admin_and_reads_are_open()
    {
        foreach (var m in new[] { "LoadPatch", "UnloadPatch", "RevertTransition", "ForceTransition", "KickTasks" })
        {
            Assert.Equal(AccessLevel.Admin, AccessTable.LevelOf($"/livepatch.v1.Agent/{m}"));
        }

        Assert.Equal(AccessLevel.AdminSensitive, AccessTable.LevelOf("/livepatch.v1.Agent/GetBlockingTasks"));
        Assert.Equal(AccessLevel.Open, AccessTable.LevelOf("/livepatch.v1.Agent/GetStatus"));
        Assert.Equal(AccessLevel.Admin, AccessTable.LevelOf("/livepatch.v1.Agent/SomethingNew"));
    }

    [Theory]
    [InlineData("/livepatch.v1.Agent/DoesNotExist")]
    [InlineData("/no.such.Service/Method")]
    [InlineData("/")]
    public void An_unknown_method_is_for_administrators_without_saying_it_is_unknown(string method)
    {
        Assert.Equal(AccessLevel.Admin, AccessTable.LevelOf(method));
        Assert.Equal("is for administrators", AccessTable.AdminReason(method));
    }
}

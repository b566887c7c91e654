using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using LivePatchAgent.Protocol.V1;
using LivePatchAgent.Daemon;
using Microsoft.Extensions.Logging;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// What a third-party gRPC client meets at the edges of the API (issue 14, items 11-13), through the raw C#
/// call invoker: bodies that are not valid messages, methods that do not exist, health by service name. The
/// same is driven from Python by PythonClientTests, and as other uids there.
/// </summary>
public sealed class DaemonGrpcEdgeTests : IDisposable
{
    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(static (byte[] b) => b, static b => b);

    private readonly SysfsFixture _fixture = SysfsFixture.Create();

    public void Dispose() => _fixture.Dispose();

    [Theory]
    [InlineData("GetStatus", MethodType.Unary, new byte[] { 0x08, 0x96 })] // the bytes of the issue: a truncated varint
    [InlineData("GetPatch", MethodType.Unary, new byte[] { 0xff, 0xff, 0xff, 0xff })]
    [InlineData("GetPatch", MethodType.Unary, new byte[] { 0x0a, 0x05, 0x61 })] // a string field claiming 5 bytes, with 1
    [InlineData("LoadPatch", MethodType.Unary, new byte[] { 0x12 })]
    [InlineData("WatchEvents", MethodType.ServerStreaming, new byte[] { 0x08, 0x96 })]
    public async Task A_body_that_is_not_a_valid_message_is_invalid_argument_with_an_error_info_and_one_warning(string name, MethodType type, byte[] body)
    {
        var log = new LogCapture();
        await using var daemon = await DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { Services = log.Services });
        var method = new Method<byte[], byte[]>(type, "livepatch.v1.Agent", name, Raw, Raw);
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(20));
        var invoker = daemon.Channel.CreateCallInvoker();

        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            if (type == MethodType.Unary)
            {
                await invoker.AsyncUnaryCall(method, null, options, body).ResponseAsync;
            }
            else
            {
                using var call = invoker.AsyncServerStreamingCall(method, null, options, body);
                await call.ResponseStream.MoveNext(CancellationToken.None);
            }
        });

        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        var info = refused.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>();
        Assert.Equal(("invalid-argument", "livepatchd"), (info?.Reason, info?.Domain));
        Assert.StartsWith($"the request to livepatch.v1.Agent/{name} is not a valid protobuf message (", refused.Status.Detail, StringComparison.Ordinal);
        await DaemonHarness.WaitForAsync(() => Task.FromResult(log.Entries.Any(e => e.EventId.Id == LogEvents.MalformedRequest)));
        var warning = Assert.Single(log.Entries, e => e.EventId.Id == LogEvents.MalformedRequest);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Matches($@"^malformed request: /livepatch\.v1\.Agent/{name} from \S+\[{Environment.ProcessId}\] uid 0: the request to ", warning.Message);
        Assert.DoesNotContain('\n', warning.Message);
        // Not grpc-dotnet's "Exception was thrown by handler." at Error, nor any stack trace.
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Error || e.Exception is not null);
        Assert.NotNull(await daemon.Client.GetStatusAsync(new GetStatusRequest()));
    }

    [Fact]
    public async Task A_valid_body_still_reaches_the_service()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        var method = new Method<byte[], byte[]>(MethodType.Unary, "livepatch.v1.Agent", "GetPatch", Raw, Raw);

        var refused = await Assert.ThrowsAsync<RpcException>(() => daemon.Channel.CreateCallInvoker()
            .AsyncUnaryCall(method, null, default, new GetPatchRequest { Name = "nosuch" }.ToByteArray()).ResponseAsync);

        Assert.Equal("patch-not-found", refused.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason);
    }

    [Theory]
    [InlineData("livepatch.v1.Agent", "DoesNotExist")]
    [InlineData("no.such.Service", "Method")]
    public async Task An_unknown_method_is_unimplemented_for_an_administrator(string service, string name)
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        var method = new Method<byte[], byte[]>(MethodType.Unary, service, name, Raw, Raw);

        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            daemon.Channel.CreateCallInvoker().AsyncUnaryCall(method, null, default, []).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, refused.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("livepatch.v1.Agent")]
    public async Task Health_answers_for_the_server_and_for_the_service_by_name(string service)
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        var health = new Health.HealthClient(daemon.Channel);

        var check = await health.CheckAsync(new HealthCheckRequest { Service = service });
        using var watch = health.Watch(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, check.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Health_of_another_service_name_is_not_found()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            new Health.HealthClient(daemon.Channel).CheckAsync(new HealthCheckRequest { Service = "livepatch.v1.Nothing" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, refused.StatusCode);
    }
}

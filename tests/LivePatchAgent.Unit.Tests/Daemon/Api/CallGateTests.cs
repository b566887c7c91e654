using Google.Rpc;
using LivePatchAgent.Daemon.Api;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Linux.Native;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Unit.Tests.Daemon.Api;

/// <summary>
/// The gate in front of every gRPC endpoint, on a request without peer credentials (not a Unix socket), which
/// is never an administrator. The integration tests repeat this with real callers of other uids.
/// </summary>
public sealed class CallGateTests
{
    private static CallGate Gate() => new(
        new CallerAuthorization(
            new AdminGroup(Options.Create(new AccessOptions()), TimeProvider.System, name => GroupLookup.Found(4242)),
            NullLogger<CallerAuthorization>.Instance),
        NullLogger<CallGate>.Instance);

    [Theory]
    [InlineData("/livepatch.v1.Agent/LoadPatch")]
    [InlineData("/livepatch.v1.Agent/DoesNotExist")]
    [InlineData("/no.such.Service/Method")]
    public async Task A_non_admin_is_refused_before_the_request_body_is_read(string method)
    {
        var (http, reachedEndpoint) = await CallAsync(method);

        Assert.False(reachedEndpoint);
        Assert.Equal("application/grpc", http.Response.ContentType);
        Assert.Equal("7", http.Response.Headers["grpc-status"].ToString()); // PERMISSION_DENIED
        var status = Google.Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(http.Response.Headers["grpc-status-details-bin"].ToString()));
        Assert.Equal(7, status.Code);
        var info = status.Details.Single().Unpack<ErrorInfo>();
        Assert.Equal(("permission-denied", "livepatchd"), (info.Reason, info.Domain));
        Assert.StartsWith(method.TrimStart('/') + " ", status.Message, StringComparison.Ordinal);
        Assert.EndsWith("run it as root or as a member of the group livepatch-admin", status.Message, StringComparison.Ordinal);
        Assert.Equal(CallGate.PercentEncode(status.Message), http.Response.Headers["grpc-message"].ToString());
    }

    [Theory]
    [InlineData("/livepatch.v1.Agent/GetStatus")]
    [InlineData("/grpc.health.v1.Health/Check")]
    [InlineData("/livepatch.v1.Agent/GetBlockingTasks")] // stacks are refused by the service, which sees the request
    public async Task An_open_method_reaches_its_endpoint(string method)
    {
        var (http, reachedEndpoint) = await CallAsync(method);

        Assert.True(reachedEndpoint);
        Assert.False(http.Response.Headers.ContainsKey("grpc-status"));
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100% sure", "100%25 sure")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("größer", "gr%C3%B6%C3%9Fer")]
    public void Grpc_message_is_percent_encoded_utf8(string message, string encoded) =>
        Assert.Equal(encoded, CallGate.PercentEncode(message));

    /// <summary>Passes a request through the gate; says whether it reached the endpoint behind it.</summary>
    private static async Task<(DefaultHttpContext Http, bool ReachedEndpoint)> CallAsync(string method)
    {
        var http = Request(method);
        var reachedEndpoint = false;
        await Gate().InvokeAsync(http, _ =>
        {
            reachedEndpoint = true;
            return Task.CompletedTask;
        });
        return (http, reachedEndpoint);
    }

    private static DefaultHttpContext Request(string method)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "POST";
        http.Request.Path = method;
        http.Request.ContentType = "application/grpc";
        http.Request.Body = new UnreadableStream();
        return http;
    }

    /// <summary>A request body that fails the test if anything reads it.</summary>
    private sealed class UnreadableStream : MemoryStream
    {
        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("the request body was read");

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the request body was read");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("the request body was read");
    }
}

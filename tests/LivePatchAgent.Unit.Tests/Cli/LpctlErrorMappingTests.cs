using System.Net.Http;
using System.Net.Sockets;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using LivePatchAgent.Cli;
using LivePatchAgent.Client;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary>From a failed gRPC call to the reason, the message on stderr and lpctl's exit code.</summary>
public sealed class LpctlErrorMappingTests
{
    private const string Socket = "/nonexistent/livepatchd.sock";

    [Fact]
    public void Daemon_error_info_reason_and_message_are_kept()
    {
        var error = AgentCallException.FromRpcException(DaemonError(Code.NotFound, "patch-not-found", "patch \"x\" is not loaded"), Socket);

        Assert.Equal("patch-not-found", error.Reason);
        Assert.Equal("patch \"x\" is not loaded", error.Message);
        Assert.Equal(Grpc.Core.StatusCode.NotFound, error.StatusCode);
        Assert.NotNull(error.KnownReason);
        Assert.Equal(ExitCodes.Failed, ExitCodes.For(error));
    }

    [Fact]
    public void A_reason_this_client_does_not_know_is_still_reported()
    {
        var error = AgentCallException.FromRpcException(DaemonError(Code.FailedPrecondition, "reason-from-a-newer-daemon", "cannot load"), Socket);

        Assert.Equal("reason-from-a-newer-daemon", error.Reason);
        Assert.Null(error.KnownReason);
        var (_, hint) = ErrorReport.Describe(error, OutputFormat.Table);
        Assert.Contains("reason-from-a-newer-daemon", hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_info_from_another_domain_is_not_taken_as_a_livepatchd_reason()
    {
        var status = new Google.Rpc.Status
        {
            Code = (int)Code.NotFound,
            Message = "nope",
            Details = { Any.Pack(new ErrorInfo { Reason = "patch-not-found", Domain = "example.com" }) },
        };

        var error = AgentCallException.FromRpcException(status.ToRpcException(), Socket);

        Assert.Equal("unknown", error.Reason);
        Assert.Equal("nope", error.Message);
    }

    [Fact]
    public void Permission_denied_status_maps_to_exit_code_4_even_without_a_reason()
    {
        var error = AgentCallException.FromRpcException(new RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.PermissionDenied, "only root may load patches")), Socket);

        Assert.Equal("permission-denied", error.Reason);
        Assert.True(error.IsPermissionDenied);
        Assert.Equal(ExitCodes.PermissionDenied, ExitCodes.For(error));
        Assert.Equal("only root may load patches", error.Message);
        Assert.Equal(ErrorReport.PermissionHint, ErrorReport.Describe(error, OutputFormat.Table).Hint);
    }

    [Fact]
    public void Permission_denied_reason_maps_to_exit_code_4()
    {
        var error = AgentCallException.FromRpcException(DaemonError(Code.PermissionDenied, "permission-denied", "unload needs root"), Socket);

        Assert.Equal(ExitCodes.PermissionDenied, ExitCodes.For(error));
    }

    [Fact]
    public void Missing_socket_is_unreachable_naming_the_path_not_the_misleading_socket_text()
    {
        // What .NET reports for a UDS path that does not exist.
        var error = AgentCallException.FromRpcException(Unavailable(SocketError.AddressNotAvailable), Socket);

        Assert.Equal("daemon-unreachable", error.Reason);
        Assert.Equal($"cannot reach livepatchd: socket {Socket} does not exist", error.Message);
        Assert.DoesNotContain("assign", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(ExitCodes.DaemonUnreachable, ExitCodes.For(error));
        var (_, hint) = ErrorReport.Describe(error, OutputFormat.Table);
        Assert.Contains("systemctl status livepatchd", hint, StringComparison.Ordinal);
    }

    [Fact]
    public void Refused_connection_on_an_existing_socket_says_nothing_listens()
    {
        var existing = Path.GetTempFileName();
        try
        {
            var error = AgentCallException.FromRpcException(Unavailable(SocketError.ConnectionRefused), existing);

            Assert.Equal($"cannot reach livepatchd: nothing is listening on {existing}", error.Message);
            Assert.Equal(ExitCodes.DaemonUnreachable, ExitCodes.For(error));
        }
        finally
        {
            File.Delete(existing);
        }
    }

    [Fact]
    public void Access_denied_on_the_socket_is_unreachable_with_the_reason_in_words()
    {
        var error = AgentCallException.FromRpcException(Unavailable(SocketError.AccessDenied), Socket);

        Assert.Equal($"cannot reach livepatchd: permission denied connecting to {Socket}", error.Message);
        Assert.Equal(ExitCodes.DaemonUnreachable, ExitCodes.For(error));
    }

    [Fact]
    public void Deadline_exceeded_is_unreachable()
    {
        var error = AgentCallException.FromRpcException(new RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.DeadlineExceeded, "")), Socket);

        Assert.True(error.IsDaemonUnreachable);
        Assert.Contains(Socket, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_mode_appends_the_reason_code_to_the_message()
    {
        var error = AgentCallException.FromRpcException(DaemonError(Code.NotFound, "patch-not-found", "patch \"x\" is not loaded"), Socket);

        Assert.Equal("patch \"x\" is not loaded (patch-not-found)", ErrorReport.Describe(error, OutputFormat.Json).Message);
        Assert.Equal("patch \"x\" is not loaded", ErrorReport.Describe(error, OutputFormat.Table).Message);
    }

    [Fact]
    public void Stderr_lines_are_prefixed_and_the_hint_follows()
    {
        using var error = new StringWriter();

        ErrorReport.Write(error, "patch \"x\" is not loaded", "Check the name with `lpctl list`.");

        Assert.Equal("lpctl: patch \"x\" is not loaded\nhint: Check the name with `lpctl list`.\n", error.ToString());
    }

    private static RpcException DaemonError(Code code, string reason, string message) =>
        new Google.Rpc.Status
        {
            Code = (int)code,
            Message = message,
            Details = { Any.Pack(new ErrorInfo { Reason = reason, Domain = AgentCallException.DaemonDomain }) },
        }.ToRpcException();

    // grpc-dotnet's shape for a failed connect: Unavailable, with the HttpRequestException (wrapping the
    // SocketException) as the status's debug exception.
    private static RpcException Unavailable(SocketError socketError) =>
        new(new Grpc.Core.Status(
            Grpc.Core.StatusCode.Unavailable,
            "Error starting gRPC call.",
            new HttpRequestException("connect failed", new SocketException((int)socketError))));
}

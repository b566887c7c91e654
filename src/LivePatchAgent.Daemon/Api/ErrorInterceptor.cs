using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Daemon.Api;

/// <summary>
/// The boundary where an <see cref="AgentException"/> becomes a gRPC status: the catalogue reason travels as
/// google.rpc.ErrorInfo (domain "livepatchd"), so clients see the same reason the daemon logged.
/// </summary>
internal sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    public const string Domain = "livepatchd";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (AgentException e)
        {
            throw ToRpcException(e, context.Method);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (AgentException e)
        {
            throw ToRpcException(e, context.Method);
        }
    }

    public static StatusCode ToStatusCode(ErrorCategory category) => category switch
    {
        ErrorCategory.InvalidArgument => StatusCode.InvalidArgument,
        ErrorCategory.NotFound => StatusCode.NotFound,
        ErrorCategory.AlreadyExists => StatusCode.AlreadyExists,
        ErrorCategory.FailedPrecondition => StatusCode.FailedPrecondition,
        ErrorCategory.PermissionDenied => StatusCode.PermissionDenied,
        ErrorCategory.Unavailable => StatusCode.Unavailable,
        ErrorCategory.DeadlineExceeded => StatusCode.DeadlineExceeded,
        ErrorCategory.Aborted => StatusCode.Aborted,
        ErrorCategory.ResourceExhausted => StatusCode.ResourceExhausted,
        _ => StatusCode.Internal,
    };

    /// <summary>The google.rpc.Status of a failed call: the code of the reason's category and an ErrorInfo (domain livepatchd).</summary>
    public static Google.Rpc.Status ToStatus(ErrorReason reason, string message) => new()
    {
        Code = (int)ToStatusCode(reason.Category),
        Message = message,
        Details = { Any.Pack(new ErrorInfo { Reason = reason.Code, Domain = Domain }) },
    };

    /// <summary>
    /// The exception that makes grpc-dotnet answer with <see cref="ToStatus"/> (in the grpc-status-details-bin
    /// trailer); <paramref name="debugException"/> stays on the server, for whoever inspects the call's status.
    /// </summary>
    public static RpcException ToRpcException(ErrorReason reason, string message, Exception? debugException = null)
    {
        var status = ToStatus(reason, message);
        var trailers = new Metadata { { StatusDetailsTrailer, status.ToByteArray() } };
        return new RpcException(new Grpc.Core.Status((StatusCode)status.Code, message, debugException), trailers);
    }

    /// <summary>The trailer (or, in a trailers-only response, header) that carries the google.rpc.Status.</summary>
    public const string StatusDetailsTrailer = "grpc-status-details-bin";

    private RpcException ToRpcException(AgentException e, string method)
    {
        Log.RequestFailed(logger, method, e.Reason.Code, e.Message);
        return ToRpcException(e.Reason, e.Message);
    }
}

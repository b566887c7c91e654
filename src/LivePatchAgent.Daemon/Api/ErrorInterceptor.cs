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

    private RpcException ToRpcException(AgentException e, string method)
    {
        Log.RequestFailed(logger, method, e.Reason.Code, e.Message);
        var status = new Google.Rpc.Status
        {
            Code = (int)ToStatusCode(e.Reason.Category),
            Message = e.Message,
            Details = { Any.Pack(new ErrorInfo { Reason = e.Reason.Code, Domain = Domain }) },
        };
        return status.ToRpcException();
    }
}

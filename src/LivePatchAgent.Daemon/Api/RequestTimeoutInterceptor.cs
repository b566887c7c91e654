using Grpc.Core;
using Grpc.Core.Interceptors;
using LivePatchAgent.Daemon.Configuration;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Api;

/// <summary>
/// Limits:RequestTimeout bounds every unary call, whatever deadline the client set (or did not set): past it the
/// request is aborted, which cancels the work the way a client hanging up does. Who may call what is decided
/// earlier, by <see cref="CallGate"/>, before the request body is read.
/// </summary>
internal sealed class RequestTimeoutInterceptor(IOptions<LimitsOptions> limits, ILogger<RequestTimeoutInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var call = continuation(request, context);
        var timeout = limits.Value.RequestTimeout;
        using var expired = new CancellationTokenSource();
        var finished = await Task.WhenAny(call, Task.Delay(timeout, expired.Token)).ConfigureAwait(false);
        if (finished != call)
        {
            Log.RequestTimedOut(logger, context.Method, PeerCredentials.Caller(context).Description, timeout);
            context.GetHttpContext().Abort();
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"the request ran longer than Limits:RequestTimeout ({timeout})"));
        }

        await expired.CancelAsync().ConfigureAwait(false);
        return await call.ConfigureAwait(false);
    }
}

using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Daemon.Api;

/// <summary>
/// What every call on the socket meets first, as ASP.NET Core middleware after routing and before the gRPC
/// endpoint: the per-uid connection limit and the access table. It runs before grpc-dotnet reads the request
/// body, so a caller who may not call a method never has its body parsed, and a method the table does not
/// know (including one no service has) is admin-only: a non-administrator gets PERMISSION_DENIED for it, an
/// administrator the framework's UNIMPLEMENTED. A refusal is a gRPC "Trailers-Only" response carrying the same
/// google.rpc.Status (ErrorInfo, domain livepatchd) as every other failure.
/// </summary>
internal sealed class CallGate(CallerAuthorization authorization, ILogger<CallGate> logger)
{
    public async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var method = http.Request.Path.Value ?? string.Empty;
        try
        {
            CallerLimits.CheckConnection(http);
            // AdminSensitive calls are open; the service refuses their sensitive part (stacks) to non-admins.
            if (AccessTable.LevelOf(method) == AccessLevel.Admin)
            {
                await authorization.DemandAsync(http, AccessTable.AdminReason(method)).ConfigureAwait(false);
            }
        }
        catch (AgentException e)
        {
            Log.RequestFailed(logger, method, e.Reason.Code, e.Message);
            WriteStatus(http.Response, ErrorInterceptor.ToStatus(e.Reason, e.Message));
            return;
        }

        await next(http).ConfigureAwait(false);
        LogMalformedRequest(http, method);
    }

    /// <summary>
    /// Answers without a message: grpc-status, grpc-message and grpc-status-details-bin in the response headers,
    /// which end the stream (gRPC's Trailers-Only form, what grpc-dotnet itself sends for an unknown method).
    /// </summary>
    internal static void WriteStatus(HttpResponse response, Google.Rpc.Status status)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = status.Code.ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncode(status.Message);
        response.Headers[ErrorInterceptor.StatusDetailsTrailer] = Convert.ToBase64String(status.ToByteArray());
    }

    /// <summary>grpc-message is percent-encoded UTF-8: every byte outside 0x20-0x7E, and '%' itself (gRPC over HTTP/2).</summary>
    internal static string PercentEncode(string message)
    {
        var text = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// One warning, with the caller, for a call whose request body was not a valid message. The parse fails
    /// inside grpc-dotnet, before any interceptor runs and without the caller at hand; <see cref="RequestParsing"/>
    /// leaves the parser's exception on the call's status, and the call's end is where the gate sees it.
    /// </summary>
    private void LogMalformedRequest(HttpContext http, string method)
    {
        if (http.Features.Get<IServerCallContextFeature>()?.ServerCallContext.Status is not
            { StatusCode: StatusCode.InvalidArgument, DebugException: InvalidProtocolBufferException } status)
        {
            return;
        }

        Log.MalformedRequest(logger, method, PeerCredentials.Caller(http).Description, status.Detail);
    }
}

using Google.Protobuf;
using Grpc.Core;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Daemon.Api;

/// <summary>
/// Binds a service with request marshallers that answer a body protobuf cannot parse with INVALID_ARGUMENT /
/// invalid-argument and its ErrorInfo. grpc-dotnet parses the request before any interceptor runs, and turns
/// every exception of a deserializer other than <see cref="RpcException"/> into UNKNOWN "Exception was thrown by
/// handler." (logged as an error with a stack trace); the marshaller is the one place that sees the failure for
/// what it is. The parser's exception stays on the call's status, where <see cref="CallGate"/> logs it with the
/// caller. Services bound here are mapped as a <see cref="ServerServiceDefinition"/>, one instance for all calls.
/// </summary>
internal sealed class RequestParsing : ServiceBinderBase
{
    private readonly ServerServiceDefinition.Builder _definition = ServerServiceDefinition.CreateBuilder();

    private RequestParsing()
    {
    }

    /// <summary>The service that <paramref name="bindService"/> binds (a generated BindService), with checked requests.</summary>
    public static ServerServiceDefinition Bind(Action<ServiceBinderBase> bindService)
    {
        ArgumentNullException.ThrowIfNull(bindService);
        var binder = new RequestParsing();
        bindService(binder);
        return binder._definition.Build();
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        _definition.AddMethod(Checked(method), handler ?? throw new ArgumentNullException(nameof(handler)));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        _definition.AddMethod(Checked(method), handler ?? throw new ArgumentNullException(nameof(handler)));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        _definition.AddMethod(Checked(method), handler ?? throw new ArgumentNullException(nameof(handler)));

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        _definition.AddMethod(Checked(method), handler ?? throw new ArgumentNullException(nameof(handler)));

    private static Method<TRequest, TResponse> Checked<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class
    {
        var parse = method.RequestMarshaller.ContextualDeserializer;
        var marshaller = new Marshaller<TRequest>(method.RequestMarshaller.ContextualSerializer, context =>
        {
            try
            {
                return parse(context);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw ErrorInterceptor.ToRpcException(ErrorReason.InvalidArgument, Describe(method, e), e);
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
    }

    /// <summary>"the request to livepatch.v1.Agent/GetStatus is not a valid protobuf message: ...".</summary>
    internal static string Describe(IMethod method, InvalidProtocolBufferException e)
    {
        // Protobuf's messages are sentences for developers ("While parsing a protocol message, the input ended
        // unexpectedly in the middle of a field.  This could mean ..."): the first one says what broke.
        var first = e.Message.Split(". ", 2)[0].TrimEnd('.');
        var problem = first.Length > 0 ? char.ToLowerInvariant(first[0]) + first[1..] : "it could not be parsed";
        return $"the request to {method.FullName.TrimStart('/')} is not a valid protobuf message ({problem}); " +
            "build the client from the daemon's own .proto files (protos/ in the source, or server reflection)";
    }
}

using System.Runtime.CompilerServices;
using Grpc.Core;
using Grpc.Net.Client;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Client;

/// <summary>
/// The typed client of livepatchd over its Unix socket. Every failure surfaces as an
/// <see cref="AgentCallException"/> carrying the stable error reason; cancellation by the caller's token surfaces
/// as <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class AgentClient : IDisposable
{
    /// <summary>
    /// How long a unary call may take. The daemon answers from memory, so a call that takes longer means a wedged
    /// daemon; monitoring that runs lpctl every minute must not pile up hung processes.
    /// </summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(10);

    private readonly GrpcChannel _channel;
    private readonly Agent.AgentClient _agent;
    private readonly TimeSpan _callTimeout;

    /// <param name="socketPath">The daemon's socket, e.g. <see cref="AgentChannel.DefaultSocketPath"/>.</param>
    /// <param name="callTimeout">The deadline of each unary call; <see cref="DefaultCallTimeout"/> when null.</param>
    public AgentClient(string socketPath, TimeSpan? callTimeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        SocketPath = socketPath;
        _callTimeout = callTimeout ?? DefaultCallTimeout;
        _channel = AgentChannel.Create(socketPath);
        _agent = new Agent.AgentClient(_channel);
    }

    /// <summary>The socket this client talks to.</summary>
    public string SocketPath { get; }

    /// <summary>The daemon and kernel status.</summary>
    public Task<AgentStatus> GetStatusAsync(CancellationToken cancellationToken = default) =>
        UnaryAsync(static (agent, options) => agent.GetStatusAsync(new GetStatusRequest(), options), cancellationToken);

    /// <summary>Every registered live patch, in the kernel's stacking order.</summary>
    public Task<ListPatchesResponse> ListPatchesAsync(CancellationToken cancellationToken = default) =>
        UnaryAsync(static (agent, options) => agent.ListPatchesAsync(new ListPatchesRequest(), options),
            cancellationToken);

    /// <summary>One live patch by name; fails with reason "patch-not-found" when it is not registered.</summary>
    public Task<Patch> GetPatchAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new GetPatchRequest { Name = name };
        return UnaryAsync((agent, options) => agent.GetPatchAsync(request, options), cancellationToken);
    }

    /// <summary>
    /// The daemon's events as they happen, until the caller cancels or the daemon ends the stream. A connection
    /// failure surfaces on the first iteration.
    /// </summary>
    public async IAsyncEnumerable<Event> WatchEventsAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var call = _agent.WatchEvents(new WatchEventsRequest(), new CallOptions(cancellationToken: cancellationToken));
        while (true)
        {
            Event next;
            try
            {
                if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    yield break;
                }

                next = call.ResponseStream.Current;
            }
            catch (RpcException ex)
            {
                throw Translate(ex, cancellationToken);
            }

            yield return next;
        }
    }

    public void Dispose() => _channel.Dispose();

    private async Task<T> UnaryAsync<T>(Func<Agent.AgentClient, CallOptions, AsyncUnaryCall<T>> call,
        CancellationToken cancellationToken)
    {
        var options = new CallOptions(deadline: DateTime.UtcNow + _callTimeout, cancellationToken: cancellationToken);
        try
        {
            using var pending = call(_agent, options);
            return await pending.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw Translate(ex, cancellationToken);
        }
    }

    private Exception Translate(RpcException exception, CancellationToken cancellationToken) =>
        exception.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested
            ? new OperationCanceledException("the call was cancelled", exception, cancellationToken)
            : AgentCallException.FromRpcException(exception, SocketPath);
}

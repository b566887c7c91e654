using System.Net.Sockets;
using Grpc.Net.Client;

namespace LivePatchAgent.Client;

/// <summary>
/// Creates gRPC channels to livepatchd over its Unix socket: a SocketsHttpHandler whose ConnectCallback dials
/// the socket, with HTTP/2 prior knowledge (h2c), as grpc-dotnet documents for UDS.
/// </summary>
public static class AgentChannel
{
    /// <summary>The daemon's default socket.</summary>
    public const string DefaultSocketPath = "/run/livepatchd/livepatchd.sock";

    public static GrpcChannel Create(string socketPath, TimeSpan? connectTimeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        var endpoint = new UnixDomainSocketEndPoint(socketPath);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(5),
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };

        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
        });
    }
}

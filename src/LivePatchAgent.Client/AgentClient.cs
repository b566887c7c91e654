using System.Globalization;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using LivePatchAgent.Core.Errors;
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

    /// <summary>
    /// The least time a module upload for verification may take: the bytes (up to Limits:MaxModuleSize) cross the
    /// socket and the daemon hashes them and checks the signature, which is more than answering from memory.
    /// </summary>
    public static readonly TimeSpan UploadCallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The least time a blocking-task diagnosis may take: the daemon scans every thread in /proc and reads the
    /// stacks of those that block, which on a busy machine is more than answering from memory.
    /// </summary>
    public static readonly TimeSpan ScanCallTimeout = TimeSpan.FromSeconds(30);

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

    /// <summary>The host's CVE posture with every advisory that affects the running kernel package version.</summary>
    public Task<Posture> GetPostureAsync(CancellationToken cancellationToken = default) =>
        UnaryAsync(static (agent, options) => agent.GetPostureAsync(new GetPostureRequest(), options), cancellationToken);

    /// <summary>The daemon's metrics in the Prometheus text exposition format (what it writes for node_exporter).</summary>
    public Task<GetMetricsResponse> GetMetricsAsync(CancellationToken cancellationToken = default) =>
        UnaryAsync(static (agent, options) => agent.GetMetricsAsync(new GetMetricsRequest(), options), cancellationToken);
    /// <summary>The kernel health guard: reader, policy, windows, last reports, quarantined patches.</summary>
    public Task<HealthStatus> GetHealthAsync(CancellationToken cancellationToken = default) =>
        UnaryAsync(static (agent, options) => agent.GetHealthAsync(new GetHealthRequest(), options), cancellationToken);

    /// <summary>Lets a quarantined patch back in (admin-only); fails with reason "not-quarantined" when it is not quarantined.</summary>
    public Task<ReleaseQuarantineResponse> ReleaseQuarantineAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new ReleaseQuarantineRequest { Name = name };
        return UnaryAsync((agent, options) => agent.ReleaseQuarantineAsync(request, options), cancellationToken);
    }

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
    /// Runs every check the daemon makes before a load on <paramref name="module"/>, without loading it. A module
    /// that fails a check is not an error: the answer says so (<c>ok</c> false, with the reason) and lists every
    /// check. Errors are for requests the daemon could not run at all, e.g. "module-too-large".
    /// </summary>
    /// <param name="module">The module file's contents; uploaded, since the daemon never opens client paths.</param>
    /// <param name="fileName">The file's name, for the daemon's messages and journal only.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<VerifyModuleResponse> VerifyModuleAsync(byte[] module, string fileName,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(fileName);
        var request = new VerifyModuleRequest { Module = Wrap(module), FileName = fileName };
        var deadline = _callTimeout > UploadCallTimeout ? _callTimeout : UploadCallTimeout;
        return CallAsync((agent, options) => agent.VerifyModuleAsync(request, options), deadline,
            UploadError(module.Length), cancellationToken);
    }

    /// <summary>
    /// Starts an operation (a load, unload, install, uninstall, apply, revert, force or kick) and returns at once with
    /// its id and first state. The daemon runs it, owns its deadline, and keeps it running if this client goes away.
    /// Checks that need no kernel (a malformed name, a missing confirmation, the journal) fail here with their reason.
    /// </summary>
    public Task<Operation> StartOperationAsync(StartOperationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var upload = request.RequestCase switch
        {
            StartOperationRequest.RequestOneofCase.Load => request.Load.Module.Length,
            StartOperationRequest.RequestOneofCase.Install => request.Install.Module.Length,
            _ => 0,
        };
        // Only the start is bounded here (the bytes cross the socket); the operation itself has the daemon's deadline.
        var deadline = upload > 0 && _callTimeout < UploadCallTimeout ? UploadCallTimeout : _callTimeout;
        return CallAsync((agent, options) => agent.StartOperationAsync(request, options), deadline,
            upload > 0 ? UploadError(upload) : null, cancellationToken);
    }

    /// <summary>
    /// Follows an operation: its state now, every change, and last the state with its result; then the stream ends.
    /// No deadline: the daemon ends the stream when the operation ends (or when it stops). Cancelling detaches; the
    /// operation goes on.
    /// </summary>
    public async IAsyncEnumerable<Operation> WatchOperationAsync(long id,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var call = _agent.WatchOperation(new WatchOperationRequest { Id = id }, new CallOptions(cancellationToken: cancellationToken));
        while (true)
        {
            Operation next;
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

    /// <summary>
    /// Follows an operation to its end and returns its final state; <paramref name="onUpdate"/> sees every state on
    /// the way (for a progress line). A stream that ends before the operation did (the daemon stopped) is an error.
    /// </summary>
    public async Task<Operation> WaitOperationAsync(long id, Action<Operation>? onUpdate, CancellationToken cancellationToken = default)
    {
        Operation? last = null;
        await foreach (var state in WatchOperationAsync(id, cancellationToken).ConfigureAwait(false))
        {
            last = state;
            onUpdate?.Invoke(state);
            if (state.Done)
            {
                return state;
            }
        }

        throw new AgentCallException(ErrorReason.DaemonUnreachable.Code, StatusCode.Unavailable,
            string.Create(CultureInfo.InvariantCulture,
                $"livepatchd stopped following operation {id} before it ended ({last?.Message ?? "no state received"}); `lpctl wait {id}` follows it again once livepatchd is back"),
            SocketPath, null);
    }

    /// <summary>Starts an operation and follows it to its end (<see cref="StartOperationAsync"/>, <see cref="WaitOperationAsync"/>).</summary>
    public async Task<Operation> RunOperationAsync(StartOperationRequest request, Action<Operation>? onUpdate, CancellationToken cancellationToken = default)
    {
        var started = await StartOperationAsync(request, cancellationToken).ConfigureAwait(false);
        onUpdate?.Invoke(started);
        return started.Done ? started : await WaitOperationAsync(started.Id, onUpdate, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One operation by id; "operation-not-found" when the daemon does not know it.</summary>
    public Task<Operation> GetOperationAsync(long id, CancellationToken cancellationToken = default) =>
        UnaryAsync((agent, options) => agent.GetOperationAsync(new GetOperationRequest { Id = id }, options), cancellationToken);

    /// <summary>The running operations, and with <paramref name="includeFinished"/> the recent finished ones, newest first.</summary>
    public Task<ListOperationsResponse> ListOperationsAsync(bool includeFinished, CancellationToken cancellationToken = default) =>
        UnaryAsync((agent, options) => agent.ListOperationsAsync(new ListOperationsRequest { IncludeFinished = includeFinished }, options), cancellationToken);

    /// <summary>Cancels an operation where that is safe; "operation-not-cancellable" says why not otherwise.</summary>
    public Task<Operation> CancelOperationAsync(long id, CancellationToken cancellationToken = default) =>
        UnaryAsync((agent, options) => agent.CancelOperationAsync(new CancelOperationRequest { Id = id }, options), cancellationToken);

    /// <summary>
    /// The failure an operation ended with, as the exception a call would have raised: refused, failed, cancelled and
    /// interrupted operations; null for the others (completed, forced, reversed, still running, not waited), whose
    /// result the caller reads.
    /// </summary>
    public AgentCallException? FailureOf(Operation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var result = operation.Result;
        if (result is null || result.Kind is not (OperationResultKind.Refused or OperationResultKind.Failed or OperationResultKind.Cancelled or OperationResultKind.Interrupted))
        {
            return null;
        }

        var reason = result.Reason.Length > 0 ? result.Reason : ErrorReason.Internal.Code;
        var status = ErrorReason.Find(reason)?.Category switch
        {
            ErrorCategory.InvalidArgument => StatusCode.InvalidArgument,
            ErrorCategory.NotFound => StatusCode.NotFound,
            ErrorCategory.AlreadyExists => StatusCode.AlreadyExists,
            ErrorCategory.PermissionDenied => StatusCode.PermissionDenied,
            ErrorCategory.Unavailable => StatusCode.Unavailable,
            ErrorCategory.DeadlineExceeded => StatusCode.DeadlineExceeded,
            ErrorCategory.Aborted => StatusCode.Aborted,
            ErrorCategory.ResourceExhausted => StatusCode.ResourceExhausted,
            ErrorCategory.Internal => StatusCode.Internal,
            _ => StatusCode.FailedPrecondition,
        };
        return new AgentCallException(reason, status, result.Message, SocketPath, null);
    }

    /// <summary>Loads a module as <see cref="RunOperationAsync"/> does, and answers with the load's detail; a refusal or failure throws.</summary>
    /// <param name="module">The module file's contents.</param>
    /// <param name="fileName">The file's name, for the daemon's messages and journal only.</param>
    /// <param name="noWait">Return once the kernel accepted the module, without waiting for the transition.</param>
    /// <param name="timeout">The deadline the daemon keeps for the load; null for its own (Limits:OperationTimeout).</param>
    /// <param name="cancellationToken">Stops following (the load goes on in the daemon).</param>
    public async Task<LoadPatchResponse> LoadPatchAsync(byte[] module, string fileName, bool noWait, TimeSpan? timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(fileName);
        var request = new LoadPatchRequest { Module = Wrap(module), FileName = fileName, NoWait = noWait, Timeout = Duration(timeout) };
        return (await RunToDetailAsync(new StartOperationRequest { Load = request }, cancellationToken).ConfigureAwait(false)).Load;
    }

    /// <summary>Unloads a patch (or removes a leftover module); see <see cref="LoadPatchAsync"/> for how it runs.</summary>
    public async Task<UnloadPatchResponse> UnloadPatchAsync(string name, TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new UnloadPatchRequest { Name = name, Timeout = Duration(timeout) };
        return (await RunToDetailAsync(new StartOperationRequest { Unload = request }, cancellationToken).ConfigureAwait(false)).Unload;
    }

    /// <summary>
    /// The threads that hold the running transition back, each with the patched function on its stack that holds
    /// it. With no transition running the answer has an empty <c>patch</c> and no tasks; naming a patch that is not
    /// the one in transition fails with "no-transition". Stacks are admin-only: with
    /// <paramref name="includeStacks"/> a caller the daemon does not trust may be refused ("permission-denied").
    /// </summary>
    /// <param name="name">The transitioning patch, or null for whichever is in transition.</param>
    /// <param name="includeStacks">Include each thread's kernel stack (admin-only).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<BlockingTasksResponse> GetBlockingTasksAsync(string? name, bool includeStacks,
        CancellationToken cancellationToken = default)
    {
        var request = new GetBlockingTasksRequest { Name = name ?? string.Empty, IncludeStacks = includeStacks };
        // The daemon reads /proc for this answer, every thread of the machine, rather than answering from memory.
        var deadline = _callTimeout > ScanCallTimeout ? _callTimeout : ScanCallTimeout;
        return CallAsync((agent, options) => agent.GetBlockingTasksAsync(request, options), deadline, translate: null,
            cancellationToken);
    }

    /// <summary>Reverses the running transition of a patch; a reversed enable then has its module removed.</summary>
    public async Task<RevertTransitionResponse> RevertTransitionAsync(string name, TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new RevertTransitionRequest { Name = name, Timeout = Duration(timeout) };
        return (await RunToDetailAsync(new StartOperationRequest { Revert = request }, cancellationToken).ConfigureAwait(false)).Revert;
    }

    /// <summary>
    /// Forces the running transition of a patch to complete. The daemon refuses without <paramref name="confirm"/>
    /// ("confirmation-required"): tasks still inside the old code keep running it, and a forced unpatch or replace
    /// pins modules that can then never be unloaded until reboot. The answer names them.
    /// </summary>
    public async Task<ForceTransitionResponse> ForceTransitionAsync(string name, bool confirm, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new ForceTransitionRequest { Name = name, Confirm = confirm };
        return (await RunToDetailAsync(new StartOperationRequest { Force = request }, cancellationToken).ConfigureAwait(false)).Force;
    }

    /// <summary>Kicks the blocked user-space tasks of the running transition of a patch ("no-transition" when there is none).</summary>
    public async Task<KickTasksResponse> KickTasksAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return (await RunToDetailAsync(new StartOperationRequest { Kick = new KickTasksRequest { Name = name } }, cancellationToken).ConfigureAwait(false)).Kick;
    }

    /// <summary>
    /// Installs a module (a .ko, or a gzip-, xz- or zstd-compressed one) into the daemon's store for a kernel release
    /// (null: the running kernel), after verifying it against that kernel; with <paramref name="loadNow"/> also loads it.
    /// </summary>
    public async Task<InstallPatchResponse> InstallPatchAsync(byte[] module, string fileName, string? kernelRelease,
        bool loadNow, InstallMetadata? metadata, TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(fileName);
        var request = new InstallPatchRequest
        {
            Module = Wrap(module),
            FileName = fileName,
            KernelRelease = kernelRelease ?? string.Empty,
            LoadNow = loadNow,
            Metadata = metadata ?? new InstallMetadata(),
            Timeout = Duration(timeout),
        };
        return (await RunToDetailAsync(new StartOperationRequest { Install = request }, cancellationToken).ConfigureAwait(false)).Install;
    }

    /// <summary>Removes an installed patch from the store; a loaded patch stays loaded ("not-installed" when there is none).</summary>
    public async Task<UninstallPatchResponse> UninstallPatchAsync(string name, string? kernelRelease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new UninstallPatchRequest { Name = name, KernelRelease = kernelRelease ?? string.Empty };
        return (await RunToDetailAsync(new StartOperationRequest { Uninstall = request }, cancellationToken).ConfigureAwait(false)).Uninstall;
    }

    /// <summary>The installed patches of one kernel release (null: the running one), or of all, with whether each is loaded.</summary>
    public Task<ListInstalledResponse> ListInstalledAsync(string? kernelRelease, bool allKernels,
        CancellationToken cancellationToken = default)
    {
        var request = new ListInstalledRequest { KernelRelease = kernelRelease ?? string.Empty, AllKernels = allKernels };
        return UnaryAsync((agent, options) => agent.ListInstalledAsync(request, options), cancellationToken);
    }

    /// <summary>
    /// The audit journal's operations, newest <paramref name="limit"/> (0: the daemon's default), optionally since a
    /// time and for one patch. Admin-only.
    /// </summary>
    public Task<GetHistoryResponse> GetHistoryAsync(DateTimeOffset? since, uint limit, string? patch,
        CancellationToken cancellationToken = default)
    {
        var request = new GetHistoryRequest { Limit = limit, Patch = patch ?? string.Empty };
        if (since is { } value)
        {
            request.Since = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(value);
        }

        return UnaryAsync((agent, options) => agent.GetHistoryAsync(request, options), cancellationToken);
    }

    /// <summary>
    /// Re-verifies and loads every installed patch of the running kernel that is not loaded, one after the other.
    /// Refused with "previous-apply-interrupted" while the crash-loop guard holds, unless <paramref name="resume"/>.
    /// </summary>
    public async Task<ApplyInstalledResponse> ApplyInstalledAsync(bool resume, TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        var request = new ApplyInstalledRequest { Resume = resume, Timeout = Duration(timeout) };
        var final = await RunOperationAsync(new StartOperationRequest { Apply = request }, null, cancellationToken).ConfigureAwait(false);
        // An apply with failed patches still answers with every patch's result; only a refusal of the whole throws.
        return final.Result.Kind == OperationResultKind.Failed && final.Apply is { } detail
            ? detail
            : FailureOf(final) is { } failure ? throw failure : final.Apply;
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

    private async Task<Operation> RunToDetailAsync(StartOperationRequest request, CancellationToken cancellationToken)
    {
        var final = await RunOperationAsync(request, null, cancellationToken).ConfigureAwait(false);
        return FailureOf(final) is { } failure ? throw failure : final;
    }

    private static Google.Protobuf.WellKnownTypes.Duration? Duration(TimeSpan? timeout) =>
        timeout is { } value ? Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(value) : null;

    private Task<T> UnaryAsync<T>(Func<Agent.AgentClient, CallOptions, AsyncUnaryCall<T>> call,
        CancellationToken cancellationToken) =>
        CallAsync(call, _callTimeout, translate: null, cancellationToken);

    /// <param name="call">Starts the call.</param>
    /// <param name="deadline">How long the call may take.</param>
    /// <param name="translate">
    /// A call-specific meaning for a failure without a daemon reason (e.g. the transport's size limit on an
    /// upload); null to use the general mapping.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    private async Task<T> CallAsync<T>(Func<Agent.AgentClient, CallOptions, AsyncUnaryCall<T>> call, TimeSpan deadline,
        Func<RpcException, AgentCallException?>? translate, CancellationToken cancellationToken)
    {
        var options = new CallOptions(deadline: DateTime.UtcNow + deadline, cancellationToken: cancellationToken);
        try
        {
            using var pending = call(_agent, options);
            return await pending.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw Translate(ex, cancellationToken, translate);
        }
    }

    // The module is not copied: protobuf serialises the caller's array as it is, and a module may be large.
    private static ByteString Wrap(byte[] module) => UnsafeByteOperations.UnsafeWrap(module);

    /// <summary>
    /// An upload beyond the daemon's gRPC message limit (Limits:MaxModuleSize plus a margin) is refused by the
    /// transport before the daemon's own size check runs; it is the same problem, so it gets the same reason.
    /// </summary>
    private Func<RpcException, AgentCallException?> UploadError(long size) => exception =>
        exception.StatusCode == StatusCode.ResourceExhausted && !AgentCallException.CarriesDaemonReason(exception)
            ? new AgentCallException(ErrorReason.ModuleTooLarge.Code, exception.StatusCode,
                string.Create(CultureInfo.InvariantCulture,
                    $"livepatchd refused the upload: the module is {size} bytes, more than it accepts (Limits:MaxModuleSize)"),
                SocketPath, exception)
            : null;

    private Exception Translate(RpcException exception, CancellationToken cancellationToken,
        Func<RpcException, AgentCallException?>? translate = null)
    {
        if (exception.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            return new OperationCanceledException("the call was cancelled", exception, cancellationToken);
        }

        // The daemon's own reason always wins; the call-specific meaning is for failures that carry none.
        if (translate is not null && !AgentCallException.CarriesDaemonReason(exception)
            && translate(exception) is { } specific)
        {
            return specific;
        }

        return AgentCallException.FromRpcException(exception, SocketPath);
    }
}

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

    /// <summary>
    /// The daemon's default wait for a load or unload (Limits:OperationTimeout). Used to bound the call when the
    /// caller gives no timeout and the daemon applies its own.
    /// </summary>
    public static readonly TimeSpan DefaultOperationTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// What a load or unload call may take beyond its operation timeout: the upload, the verification, the module
    /// removal after the wait, and the answer. Without a margin the client would give up just before the daemon
    /// reports the outcome it waited for.
    /// </summary>
    public static readonly TimeSpan OperationDeadlineMargin = TimeSpan.FromSeconds(15);

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
    /// Verifies <paramref name="module"/> and loads exactly those bytes, then waits for the patching transition
    /// unless <paramref name="noWait"/>. Fails with the reason of the first failed check or the kernel's refusal;
    /// a transition that is still running at the timeout is not an error (<c>transition_completed</c> is false).
    /// </summary>
    /// <param name="module">The module file's contents.</param>
    /// <param name="fileName">The file's name, for the daemon's messages and journal only.</param>
    /// <param name="noWait">Return once the kernel accepted the module, without waiting for the transition.</param>
    /// <param name="timeout">
    /// How long the daemon waits for the transition and retries a busy kernel; null for the daemon's default
    /// (Limits:OperationTimeout). The call's own deadline is this plus <see cref="OperationDeadlineMargin"/>.
    /// </param>
    /// <param name="cancellationToken">Cancels the call (the daemon stops waiting; a module already loaded stays).</param>
    public Task<LoadPatchResponse> LoadPatchAsync(byte[] module, string fileName, bool noWait, TimeSpan? timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(fileName);
        var request = new LoadPatchRequest { Module = Wrap(module), FileName = fileName, NoWait = noWait };
        if (timeout is { } value)
        {
            request.Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(value);
        }

        var operation = $"loading {fileName}";
        return CallAsync((agent, options) => agent.LoadPatchAsync(request, options), OperationDeadline(timeout),
            error => UploadError(module.Length)(error) ?? OperationDeadlineError(error, operation, timeout),
            cancellationToken);
    }

    /// <summary>
    /// Disables the patch <paramref name="name"/>, waits for its unpatching transition, and removes its module;
    /// also removes a leftover module (replaced or disabled, still loaded). Fails with "patch-not-found" when
    /// there is neither.
    /// </summary>
    /// <param name="name">The patch (module) name.</param>
    /// <param name="timeout">
    /// How long the daemon waits for the transition and for the module to become free; null for its default.
    /// The call's own deadline is this plus <see cref="OperationDeadlineMargin"/>.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task<UnloadPatchResponse> UnloadPatchAsync(string name, TimeSpan? timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new UnloadPatchRequest { Name = name };
        if (timeout is { } value)
        {
            request.Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(value);
        }

        var operation = $"unloading {name}";
        return CallAsync((agent, options) => agent.UnloadPatchAsync(request, options), OperationDeadline(timeout),
            error => OperationDeadlineError(error, operation, timeout), cancellationToken);
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

    /// <summary>
    /// Reverses the running transition of <paramref name="name"/> and waits for the reversed transition; a reversed
    /// enable then has its module removed. Fails with "no-transition" when the patch is not in transition; a
    /// reversal still running at the timeout is not an error (<c>completed</c> is false).
    /// </summary>
    /// <param name="name">The transitioning patch.</param>
    /// <param name="timeout">
    /// How long the daemon waits for the reversal and the module removal; null for its default
    /// (Limits:OperationTimeout). The call's own deadline is this plus <see cref="OperationDeadlineMargin"/>.
    /// </param>
    /// <param name="cancellationToken">Cancels the call (the daemon stops waiting; the reversal goes on).</param>
    public Task<RevertTransitionResponse> RevertTransitionAsync(string name, TimeSpan? timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new RevertTransitionRequest { Name = name };
        if (timeout is { } value)
        {
            request.Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(value);
        }

        var operation = $"reverting {name}";
        return CallAsync((agent, options) => agent.RevertTransitionAsync(request, options), OperationDeadline(timeout),
            error => OperationDeadlineError(error, operation, timeout), cancellationToken);
    }

    /// <summary>
    /// Forces the running transition of <paramref name="name"/> to complete. The daemon refuses without
    /// <paramref name="confirm"/> ("confirmation-required"): tasks still inside the old code keep running it, and a
    /// forced unpatch or replace pins modules that can then never be unloaded until reboot. The answer names them.
    /// </summary>
    /// <param name="name">The transitioning patch.</param>
    /// <param name="confirm">The caller's explicit consent to the consequences.</param>
    /// <param name="cancellationToken">Cancels the call (a force the kernel already took stays).</param>
    public Task<ForceTransitionResponse> ForceTransitionAsync(string name, bool confirm,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new ForceTransitionRequest { Name = name, Confirm = confirm };
        // The daemon waits for the kernel to finish the forced transition, up to its operation timeout.
        var operation = $"forcing {name}";
        return CallAsync((agent, options) => agent.ForceTransitionAsync(request, options), OperationDeadline(null),
            error => OperationDeadlineError(error, operation, null), cancellationToken);
    }

    /// <summary>
    /// Kicks the blocked user-space tasks of the running transition of <paramref name="name"/> with SIGSTOP then
    /// SIGCONT (on 4.16-5.0 kernels the daemon writes the patch's <c>signal</c> attribute instead). Fails with
    /// "no-transition" when the patch is not in transition.
    /// </summary>
    public Task<KickTasksResponse> KickTasksAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new KickTasksRequest { Name = name };
        // A kick queues behind another running operation (a load, a revert) for up to the operation timeout.
        var operation = $"kicking the tasks blocking {name}";
        return CallAsync((agent, options) => agent.KickTasksAsync(request, options), OperationDeadline(null),
            error => OperationDeadlineError(error, operation, null), cancellationToken);
    }

    /// <summary>
    /// Installs <paramref name="module"/> (a .ko, or a gzip-, xz- or zstd-compressed one) into the daemon's store for
    /// <paramref name="kernelRelease"/> (null: the running kernel), after verifying it against that kernel. With
    /// <paramref name="loadNow"/> the daemon also loads it and waits for the transition, so the call's deadline is
    /// that of a load.
    /// </summary>
    public Task<InstallPatchResponse> InstallPatchAsync(byte[] module, string fileName, string? kernelRelease,
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
        };
        if (timeout is { } value)
        {
            request.Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(value);
        }

        var operation = $"installing {fileName}";
        var deadline = loadNow ? OperationDeadline(timeout) : (_callTimeout > UploadCallTimeout ? _callTimeout : UploadCallTimeout);
        return CallAsync((agent, options) => agent.InstallPatchAsync(request, options), deadline,
            error => UploadError(module.Length)(error) ?? OperationDeadlineError(error, operation, timeout),
            cancellationToken);
    }

    /// <summary>
    /// Removes an installed patch from the store of <paramref name="kernelRelease"/> (null: the running kernel); a
    /// loaded patch stays loaded. Fails with "not-installed" when there is no such installed patch.
    /// </summary>
    public Task<UninstallPatchResponse> UninstallPatchAsync(string name, string? kernelRelease,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new UninstallPatchRequest { Name = name, KernelRelease = kernelRelease ?? string.Empty };
        return UnaryAsync((agent, options) => agent.UninstallPatchAsync(request, options), cancellationToken);
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
    /// Re-verifies and loads every installed patch of the running kernel that is not loaded, one after the other,
    /// each waiting for its transition. Refused with "previous-apply-interrupted" while the crash-loop guard holds,
    /// unless <paramref name="resume"/>. The call's deadline allows several loads.
    /// </summary>
    public Task<ApplyInstalledResponse> ApplyInstalledAsync(bool resume, TimeSpan? timeout,
        CancellationToken cancellationToken = default)
    {
        var request = new ApplyInstalledRequest { Resume = resume };
        if (timeout is { } value)
        {
            request.Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(value);
        }

        // Each installed patch may take up to the operation timeout; a handful is the common case.
        var deadline = ApplyDeadline(timeout);
        return CallAsync((agent, options) => agent.ApplyInstalledAsync(request, options), deadline,
            error => OperationDeadlineError(error, "applying the installed patches", timeout), cancellationToken);
    }

    /// <summary>The deadline of an apply call: room for several loads, each with its own timeout.</summary>
    public static TimeSpan ApplyDeadline(TimeSpan? timeout) =>
        4 * (timeout ?? DefaultOperationTimeout) + OperationDeadlineMargin;

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

    /// <summary>The deadline of an operation call (load, unload, revert, force, kick): its own timeout plus the margin.</summary>
    public static TimeSpan OperationDeadline(TimeSpan? timeout) =>
        (timeout ?? DefaultOperationTimeout) + OperationDeadlineMargin;

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

    /// <summary>
    /// An operation that outlives its deadline was accepted by the daemon, so the daemon is not unreachable:
    /// the operation may still be running, and the user must look before retrying.
    /// </summary>
    private AgentCallException? OperationDeadlineError(RpcException exception, string operation, TimeSpan? timeout) =>
        exception.StatusCode == StatusCode.DeadlineExceeded
            ? new AgentCallException(ErrorReason.Unknown.Code, exception.StatusCode,
                string.Create(CultureInfo.InvariantCulture,
                    $"livepatchd did not answer within {OperationDeadline(timeout).TotalSeconds:0.###} s while {operation}; it may still be in progress: check `lpctl status` and `lpctl list` before retrying"),
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

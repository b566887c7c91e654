using System.Net.Sockets;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Journal;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Tmds.DBus.Protocol;

namespace LivePatchAgent.Daemon.DBus;

/// <summary>
/// Publishes org.livepatchd.Agent1 and keeps it published. The bus is optional to the daemon: when it is missing at
/// start or goes away later, gRPC keeps serving, the state shows "degraded" (with the reason) and a background
/// loop reconnects with capped exponential backoff. Every <see cref="StateStore"/> change becomes
/// PropertiesChanged for exactly the properties that changed, plus the signals it implies.
/// </summary>
internal sealed class AgentBusPublisher : BackgroundService
{
    /// <summary>The one connect attempt made before the host reports started: long enough for a healthy bus.</summary>
    public static readonly TimeSpan FirstAttemptTimeout = TimeSpan.FromSeconds(1);

    private readonly StateStore _store;
    private readonly AuditJournal _journal;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;
    private readonly KernelSnapshotReader _reader;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _reconnect;
    private readonly string _address;
    private readonly string _degradedReason;
    private readonly Lock _lock = new();
    private AgentBusModel? _model;
    private AgentObject? _object;
    private DBusConnection? _connection;
    private bool _reportedUnavailable;

    public AgentBusPublisher(StateStore store, AuditJournal journal, KernelSnapshotReader reader, IOptions<DBusOptions> options, DBusReconnectPolicy policy, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _store = store;
        _journal = journal;
        _reader = reader;
        _timeProvider = timeProvider;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<AgentBusPublisher>();
        _address = string.IsNullOrEmpty(options.Value.Address) ? DBusAddress.System ?? "unix:path=/run/dbus/system_bus_socket" : options.Value.Address;
        _degradedReason = $"d-bus: not connected to {_address}; org.livepatchd.Agent1 is unavailable until it reconnects";
        _reconnect = policy.Build(OnRetry);
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The kernel watcher starts first and takes the first snapshot, so Current is there.
        _model = new AgentBusModel(_store.Current, DaemonHost.Version, _timeProvider.GetUtcNow());
        _object = new AgentObject(_model, _journal, _reader, _timeProvider, _loggerFactory.CreateLogger<AgentObject>());
        _store.Changed += OnStateChanged;

        // One short attempt, so that on a healthy system READY=1 also means "the name is on the bus". A missing bus
        // fails at once; a hung one costs at most FirstAttemptTimeout. Either way the host starts and retries later.
        using var first = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        first.CancelAfter(FirstAttemptTimeout);
        try
        {
            Attach(await ConnectOnceAsync(first.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ReportUnavailable($"no answer within {FirstAttemptTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (DBusReconnectPolicy.IsConnectFailure(e))
        {
            ReportUnavailable(Describe(e));
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _store.Changed -= OnStateChanged;
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        DBusConnection? connection;
        lock (_lock)
        {
            connection = _connection;
            _connection = null;
        }

        // Closing the connection releases the name.
        connection?.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            DBusConnection? connection;
            lock (_lock)
            {
                connection = _connection;
            }

            if (connection is null)
            {
                try
                {
                    connection = await _reconnect.ExecuteAsync(
                        static async (self, token) => await self.ConnectOnceAsync(token).ConfigureAwait(false), this, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }

                Attach(connection);
            }

            Exception? reason;
            try
            {
                reason = await connection.DisconnectedAsync().WaitAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            Detach(connection, reason);
        }
    }

    private async Task<DBusConnection> ConnectOnceAsync(CancellationToken cancellationToken)
    {
        var connection = new DBusConnection(_address);
        try
        {
            // DBusConnection has no cancellation of its own; disposing it aborts a pending connect.
            using (cancellationToken.Register(static c => ((DBusConnection)c!).Dispose(), connection))
            {
                await connection.ConnectAsync().ConfigureAwait(false);
                connection.AddMethodHandler(_object!);
                // No replacement either way: a second livepatchd must not take the name from a running one.
                if (!await connection.TryRequestNameAsync(AgentBusContract.BusName, RequestNameOptions.None).ConfigureAwait(false))
                {
                    throw new DBusNameTakenException($"another connection owns {AgentBusContract.BusName} (is a second livepatchd running?)");
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            return connection;
        }
        catch
        {
            // Not handled here: the connection is released and the failure goes to the caller.
            connection.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            throw;
        }
    }

    private void Attach(DBusConnection connection)
    {
        lock (_lock)
        {
            _connection = connection;
            _reportedUnavailable = false;
        }

        DBusLog.Connected(_logger, AgentBusContract.BusName, _address, connection.UniqueName ?? "?");
        _store.SetDegraded(DegradedSource.Bus, null);
    }

    private void Detach(DBusConnection connection, Exception? reason)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_connection, connection))
            {
                _connection = null;
            }
        }

        connection.Dispose();
        DBusLog.Lost(_logger, _address, reason is null ? "the connection was closed" : Describe(reason));
        _reportedUnavailable = true;
        _store.SetDegraded(DegradedSource.Bus, _degradedReason);
    }

    private ValueTask OnRetry(OnRetryArguments<object> arguments)
    {
        var problem = arguments.Outcome.Exception is { } e ? Describe(e) : "unknown";
        if (!_reportedUnavailable)
        {
            ReportUnavailable(problem);
        }

        DBusLog.Retrying(_logger, arguments.AttemptNumber + 1, _address, problem, arguments.RetryDelay);
        return default;
    }

    private void ReportUnavailable(string problem)
    {
        _reportedUnavailable = true;
        DBusLog.Unavailable(_logger, _address, problem);
        _store.SetDegraded(DegradedSource.Bus, _degradedReason);
    }

    private void OnStateChanged(AgentView view)
    {
        // Runs on the updating thread (the watcher's poll). Out-of-order callbacks from concurrent updates are
        // harmless: the model always moves to the newest view, so a late callback finds nothing new.
        var model = _model;
        if (model is null)
        {
            return;
        }

        var update = model.Apply(_store.Current, _timeProvider.GetUtcNow());
        DBusConnection? connection;
        lock (_lock)
        {
            connection = _connection;
        }

        if (connection is not null && !update.IsEmpty)
        {
            AgentBusSignals.Send(connection, update, _timeProvider.GetUtcNow());
        }
    }

    private static string Describe(Exception e) =>
        e.InnerException is SocketException inner ? $"{e.Message} ({inner.Message})" : e.Message;
}

/// <summary>The bus name is owned by another connection; retried like any other connect failure.</summary>
internal sealed class DBusNameTakenException(string message) : Exception(message);

/// <summary>
/// The reconnect pipeline: retry forever with exponential backoff and jitter, 200 ms growing to at most 10 s, on
/// the failures that mean "the bus is not there (yet)". Registered once; time comes from the injected TimeProvider.
/// </summary>
internal sealed class DBusReconnectPolicy(TimeProvider timeProvider)
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(200);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    public static bool IsConnectFailure(Exception e) =>
        e is DBusExceptionBase or SocketException or IOException or DBusNameTakenException or ObjectDisposedException;

    public ResiliencePipeline Build(Func<OnRetryArguments<object>, ValueTask> onRetry) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = arguments => ValueTask.FromResult(arguments.Outcome.Exception is { } e && IsConnectFailure(e)),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = FirstDelay,
                MaxDelay = MaxDelay,
                OnRetry = onRetry,
            })
            .Build();
}

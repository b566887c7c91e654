using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LivePatchAgent.Integration.Tests;

/// <summary>One log entry of the daemon, as its logging pipeline (with the daemon's filters) passed it on.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>
/// A logger provider added to an in-process daemon (DaemonHarnessOptions.Services), so a test can check what the
/// daemon logged: the filters of the daemon apply to it as to the console.
/// </summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public Action<Microsoft.Extensions.DependencyInjection.IServiceCollection> Services =>
        services => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<ILoggerProvider>(services, this);

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}

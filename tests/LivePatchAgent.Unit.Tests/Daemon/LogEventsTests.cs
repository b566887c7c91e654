using System.Reflection;
using LivePatchAgent.Daemon;
using Microsoft.Extensions.Logging;

namespace LivePatchAgent.Unit.Tests.Daemon;

/// <summary>
/// Monitoring matches on log EventIds, so each [LoggerMessage] of livepatchd has its own, and every one is a
/// <see cref="LogEvents"/> constant (the one place where they are numbered).
/// </summary>
public sealed class LogEventsTests
{
    private const BindingFlags AllMethods =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    /// <summary>Every [LoggerMessage] method in the livepatchd assembly.</summary>
    private static List<(string Method, int EventId)> Messages() =>
        typeof(LogEvents).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods(AllMethods))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .Select(m => ($"{m.Method.DeclaringType!.Name}.{m.Method.Name}", m.Attribute!.EventId))
            .ToList();

    private static Dictionary<string, int> Constants() =>
        typeof(LogEvents).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int))
            .ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!);

    [Fact]
    public void The_daemon_has_log_messages_to_check()
    {
        // Guards the reflection below: finding nothing would make the other tests pass vacuously.
        Assert.True(Messages().Count >= 40, $"found only {Messages().Count} [LoggerMessage] methods");
    }

    [Fact]
    public void No_two_log_messages_share_an_event_id()
    {
        var shared = Messages()
            .GroupBy(m => m.EventId)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}")
            .ToList();

        Assert.True(shared.Count == 0, "event ids used by more than one message: " + string.Join("; ", shared));
    }

    [Fact]
    public void Every_event_id_is_a_LogEvents_constant()
    {
        var constants = Constants().Values.ToHashSet();

        var stray = Messages().Where(m => !constants.Contains(m.EventId)).Select(m => $"{m.Method} ({m.EventId})").ToList();

        Assert.True(stray.Count == 0, "event ids not defined in LogEvents: " + string.Join(", ", stray));
    }

    [Fact]
    public void No_two_LogEvents_constants_share_a_value()
    {
        var shared = Constants()
            .GroupBy(c => c.Value)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(c => c.Key))}")
            .ToList();

        Assert.True(shared.Count == 0, "LogEvents constants with the same value: " + string.Join("; ", shared));
    }
}

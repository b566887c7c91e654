using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>
/// A TimeSpan range check. <c>[Range(typeof(TimeSpan), ...)]</c> goes through TypeConverter and is not trim-safe
/// (IL2026), so the bounds are given in milliseconds instead.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class TimeSpanRangeAttribute(double minimumMilliseconds, double maximumMilliseconds) : ValidationAttribute
{
    public TimeSpan Minimum { get; } = TimeSpan.FromMilliseconds(minimumMilliseconds);

    public TimeSpan Maximum { get; } = TimeSpan.FromMilliseconds(maximumMilliseconds);

    public override bool IsValid(object? value) => value is TimeSpan t && t >= Minimum && t <= Maximum;

    public override string FormatErrorMessage(string name) => string.Create(CultureInfo.InvariantCulture,
        $"must be between {Minimum:c} and {Maximum:c}");
}

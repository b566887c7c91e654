using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>
/// An integer range check whose message is only the problem ("must be between 16 and 65536"), as the configuration
/// check prefixes the key itself. The source-generated validator formats <c>[Range]</c> with its own text ("The field
/// ApiOptions.WatchBufferSize must be ..."), whatever ErrorMessage says.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class IntegerRangeAttribute(long minimum, long maximum) : ValidationAttribute
{
    public long Minimum { get; } = minimum;

    public long Maximum { get; } = maximum;

    public override bool IsValid(object? value) => value switch
    {
        int i => i >= Minimum && i <= Maximum,
        long l => l >= Minimum && l <= Maximum,
        _ => false,
    };

    public override string FormatErrorMessage(string name) => string.Create(CultureInfo.InvariantCulture,
        $"must be between {Minimum} and {Maximum}");
}

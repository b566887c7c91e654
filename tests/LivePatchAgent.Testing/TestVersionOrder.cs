namespace LivePatchAgent.Testing;

/// <summary>
/// A version order good enough for the test fixtures, standing in for the distributions' real orders (Debian, rpm),
/// which the posture code receives as an input: versions split into runs of digits and runs of other characters;
/// digit runs compare as numbers, other runs ordinally, and a version that runs out first is lower
/// (6.1.194-1 &lt; 6.1.194-1+deb12u1, 5.15.0-119.129 &lt; 5.15.0-122.132, 5.14.0-362.8.1.el9_3 &lt;
/// 5.14.0-427.13.1.el9_4). It knows nothing of epochs or '~'.
/// </summary>
public sealed class TestVersionOrder : IComparer<string>
{
    public static TestVersionOrder Instance { get; } = new();

    /// <summary>The ecosystem → order function the evaluator takes: this order for every ecosystem.</summary>
    public static IComparer<string>? ForEcosystem(string ecosystem) => Instance;

    public int Compare(string? x, string? y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            var a = Run(x, ref i);
            var b = Run(y, ref j);
            var digitsA = char.IsAsciiDigit(a[0]);
            var digitsB = char.IsAsciiDigit(b[0]);
            int result;
            if (digitsA && digitsB)
            {
                a = a.TrimStart('0');
                b = b.TrimStart('0');
                result = a.Length != b.Length ? a.Length.CompareTo(b.Length) : a.CompareTo(b, StringComparison.Ordinal);
            }
            else
            {
                result = digitsA != digitsB ? (digitsA ? 1 : -1) : a.CompareTo(b, StringComparison.Ordinal);
            }

            if (result != 0)
            {
                return Math.Sign(result);
            }
        }

        return (x.Length - i).CompareTo(y.Length - j) switch { > 0 => 1, < 0 => -1, _ => 0 };
    }

    private static ReadOnlySpan<char> Run(string s, ref int index)
    {
        var start = index;
        var digits = char.IsAsciiDigit(s[index]);
        while (index < s.Length && char.IsAsciiDigit(s[index]) == digits)
        {
            index++;
        }

        return s.AsSpan(start, index - start);
    }
}

using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// A Debian package version, <c>[epoch:]upstream[-revision]</c>, parsed and ordered exactly as dpkg does it
/// (parseversion and verrevcmp in libdpkg), so an advisory's "fixed in" version is compared with an installed
/// package the way apt and dpkg themselves would compare them. Ubuntu uses the same ordering.
/// </summary>
/// <remarks>
/// <para>The order: the epoch numerically (missing is 0), then the upstream version, then the revision (missing is
/// the empty string, which equals "0"). Upstream and revision are compared in alternating runs: a non-digit run
/// character by character, where '~' sorts before everything (even the end of the string), the end of the string
/// and digits next, then letters, then every other character; and a digit run numerically. So
/// <c>1.0~rc1 &lt; 1.0 &lt; 1.0a &lt; 1.0+b1 &lt; 1.0.1</c>, and <c>1.0 == 1.00 == 0:1.0 == 1.0-0</c>.</para>
/// <para>The comparison works on the UTF-8 bytes, as dpkg does: a byte above 0x7f sorts after the letters and
/// before ASCII punctuation (dpkg's <c>char</c> is signed). Such versions are invalid, but dpkg still orders them.</para>
/// </remarks>
public sealed class DebianVersion : IComparable<DebianVersion>, IEquatable<DebianVersion>
{
    /// <summary>What dpkg allows in the upstream part after its first character, and in the revision.</summary>
    private static readonly SearchValues<char> UpstreamCharacters =
        SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-+~:");

    private static readonly SearchValues<char> RevisionCharacters =
        SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.+~");

    private readonly string _text;
    private readonly byte[] _upstream;
    private readonly byte[] _revision;

    private DebianVersion(string text, int epoch, string upstream, string revision)
    {
        _text = text;
        Epoch = epoch;
        Upstream = upstream;
        Revision = revision;
        _upstream = Encoding.UTF8.GetBytes(upstream);
        _revision = Encoding.UTF8.GetBytes(revision);
    }

    /// <summary>How dpkg judges a version string: usable, usable with a warning, or refused.</summary>
    internal enum Validity
    {
        Valid,

        /// <summary>dpkg warns and still compares it (an upstream part not starting with a digit, an illegal character).</summary>
        Warning,

        /// <summary>dpkg refuses it (empty, a bad epoch, an empty revision, embedded blanks).</summary>
        Error,
    }

    /// <summary>The epoch, 0 when the version has none.</summary>
    public int Epoch { get; }

    /// <summary>The upstream version: between the epoch's colon and the last hyphen.</summary>
    public string Upstream { get; }

    /// <summary>The Debian revision after the last hyphen; empty when there is none (which orders like "0").</summary>
    public string Revision { get; }

    /// <summary>
    /// Compares two version strings as <c>dpkg --compare-versions</c> does: negative when <paramref name="a"/> is
    /// older, 0 when dpkg considers them equal, positive when newer. Versions dpkg only warns about (an upstream
    /// part that does not start with a digit, an illegal character) are compared as dpkg compares them.
    /// </summary>
    /// <exception cref="FormatException">A version dpkg refuses outright, with dpkg's reason.</exception>
    public static int Compare(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Lenient(a).CompareTo(Lenient(b));
    }

    /// <summary>
    /// Parses a version that dpkg accepts without complaint. <paramref name="error"/> says why not otherwise, in
    /// dpkg's words, e.g. "version '1.0:2' has bad syntax: epoch in version is not number". This is stricter than
    /// <see cref="Compare(string, string)"/>: the versions dpkg only warns about are refused here too, as
    /// dpkg-deb refuses to build a package with one.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out DebianVersion? version, [NotNullWhen(false)] out string? error)
    {
        text ??= "";
        if (Parse(text, out var parsed, out var reason) == Validity.Valid)
        {
            version = parsed!;
            error = null;
            return true;
        }

        version = null;
        error = Describe(text, reason!);
        return false;
    }

    /// <summary>Parses a version as <see cref="TryParse"/> does.</summary>
    /// <exception cref="FormatException">The version is not one dpkg accepts without complaint.</exception>
    public static DebianVersion Parse(string text) =>
        TryParse(text, out var version, out var error) ? version : throw new FormatException(error);

    /// <summary>
    /// dpkg's parseversion: trims blanks, splits off the epoch at the first colon (read as strtol reads it, so
    /// "+1:" is epoch 1) and the revision at the last hyphen, then checks the characters. On <see cref="Validity.Warning"/>
    /// the version is still returned, with the reason.
    /// </summary>
    internal static Validity Parse(string text, out DebianVersion? version, out string? reason)
    {
        version = null;
        reason = null;

        var start = 0;
        while (start < text.Length && IsBlank(text[start]))
        {
            start++;
        }

        if (start == text.Length)
        {
            return Fail("version string is empty", out reason);
        }

        var end = start;
        while (end < text.Length && !IsBlank(text[end]))
        {
            end++;
        }

        for (var rest = end; rest < text.Length; rest++)
        {
            if (!IsBlank(text[rest]))
            {
                return Fail("version string has embedded spaces", out reason);
            }
        }

        if (text.IndexOf('\0', start, end - start) >= 0)
        {
            // A C string ends there, so dpkg could never be handed one; refuse rather than guess.
            return Fail("version string contains a NUL character", out reason);
        }

        var epoch = 0;
        var versionStart = start;
        var colon = text.IndexOf(':', start, end - start);
        if (colon >= 0)
        {
            var problem = ParseEpoch(text.AsSpan(start, colon - start), out epoch);
            if (problem is not null)
            {
                return Fail(problem, out reason);
            }

            // dpkg looks at the untrimmed string here: "1: " has something after its colon (and then an empty version).
            if (colon + 1 == text.Length)
            {
                return Fail("nothing after colon in version number", out reason);
            }

            versionStart = colon + 1;
        }

        var full = text[versionStart..end];
        var hyphen = full.LastIndexOf('-');
        var upstream = hyphen >= 0 ? full[..hyphen] : full;
        var revision = hyphen >= 0 ? full[(hyphen + 1)..] : "";
        if (hyphen >= 0 && revision.Length == 0)
        {
            return Fail("revision number is empty", out reason);
        }

        if (upstream.Length == 0)
        {
            return Fail("version number is empty", out reason);
        }

        version = new DebianVersion(text[start..end], epoch, upstream, revision);
        if (!char.IsAsciiDigit(upstream[0]))
        {
            reason = "version number does not start with digit";
        }
        else if (upstream.AsSpan(1).ContainsAnyExcept(UpstreamCharacters))
        {
            reason = "invalid character in version number";
        }
        else if (revision.AsSpan().ContainsAnyExcept(RevisionCharacters))
        {
            reason = "invalid character in revision number";
        }

        return reason is null ? Validity.Valid : Validity.Warning;
    }

    private static Validity Fail(string problem, out string reason)
    {
        reason = problem;
        return Validity.Error;
    }

    private static string Describe(string text, string reason) =>
        $"version '{DisplayText.Escape(text)}' has bad syntax: {reason}";

    private static DebianVersion Lenient(string text) =>
        Parse(text, out var version, out var reason) == Validity.Error
            ? throw new FormatException(Describe(text, reason!))
            : version!;

    /// <summary>
    /// The epoch as dpkg reads it with strtol(3): leading white space, an optional sign and decimal digits, which
    /// must reach the colon exactly, and the value must fit in 0..INT_MAX. So "+1:" is epoch 1 and "-0:" epoch 0.
    /// </summary>
    private static string? ParseEpoch(ReadOnlySpan<char> field, out int epoch)
    {
        epoch = 0;
        var i = 0;
        while (i < field.Length && field[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }

        var negative = false;
        if (i < field.Length && field[i] is '+' or '-')
        {
            negative = field[i] == '-';
            i++;
        }

        var digits = i;
        ulong magnitude = 0;
        while (i < field.Length && char.IsAsciiDigit(field[i]))
        {
            // Saturate: anything past long's range is ERANGE for strtol, "too big" (or "negative") for dpkg.
            magnitude = magnitude > (ulong.MaxValue - 9) / 10 ? ulong.MaxValue : (magnitude * 10) + (ulong)(field[i] - '0');
            i++;
        }

        if (i == digits)
        {
            // strtol read no number, so its end pointer is the start of the string, not the colon.
            return "epoch in version is empty";
        }

        if (i != field.Length)
        {
            return "epoch in version is not number";
        }

        if (negative && magnitude != 0)
        {
            return "epoch in version is negative";
        }

        if (magnitude > int.MaxValue)
        {
            return "epoch in version is too big";
        }

        epoch = (int)magnitude;
        return null;
    }

    private static bool IsBlank(char c) => c is ' ' or '\t';

    /// <summary>dpkg's verrevcmp: alternating non-digit runs (compared by <see cref="Order"/>) and digit runs (by value).</summary>
    private static int VerRevCmp(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var i = 0;
        var j = 0;
        while (i < a.Length || j < b.Length)
        {
            while ((i < a.Length && !IsDigit(a[i])) || (j < b.Length && !IsDigit(b[j])))
            {
                var ac = Order(a, i);
                var bc = Order(b, j);
                if (ac != bc)
                {
                    return ac - bc;
                }

                i++;
                j++;
            }

            while (i < a.Length && a[i] == '0')
            {
                i++;
            }

            while (j < b.Length && b[j] == '0')
            {
                j++;
            }

            var firstDiff = 0;
            while (i < a.Length && j < b.Length && IsDigit(a[i]) && IsDigit(b[j]))
            {
                if (firstDiff == 0)
                {
                    firstDiff = a[i] - b[j];
                }

                i++;
                j++;
            }

            if (i < a.Length && IsDigit(a[i]))
            {
                return 1;
            }

            if (j < b.Length && IsDigit(b[j]))
            {
                return -1;
            }

            if (firstDiff != 0)
            {
                return firstDiff;
            }
        }

        return 0;
    }

    /// <summary>
    /// The weight of a character in a non-digit run: '~' below the end of the string and digits (0), letters
    /// next, then bytes above 0x7f (a signed char plus 256), then the other ASCII characters (plus 256).
    /// </summary>
    private static int Order(ReadOnlySpan<byte> s, int i)
    {
        if (i >= s.Length)
        {
            return 0;
        }

        var c = s[i];
        return c switch
        {
            >= (byte)'0' and <= (byte)'9' => 0,
            >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' => c,
            (byte)'~' => -1,
            >= 0x80 => c,
            _ => c + 256,
        };
    }

    private static bool IsDigit(byte c) => c is >= (byte)'0' and <= (byte)'9';

    public int CompareTo(DebianVersion? other)
    {
        if (other is null)
        {
            return 1;
        }

        var rc = Epoch.CompareTo(other.Epoch);
        if (rc == 0)
        {
            rc = VerRevCmp(_upstream, other._upstream);
        }

        if (rc == 0)
        {
            rc = VerRevCmp(_revision, other._revision);
        }

        return Math.Sign(rc);
    }

    /// <summary>Equal as dpkg sees it, so "1.0", "1.00", "0:1.0" and "1.0-0" are all equal.</summary>
    public bool Equals(DebianVersion? other) => other is not null && CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is DebianVersion other && Equals(other);

    /// <summary>Consistent with <see cref="Equals(DebianVersion)"/>: hashes the parts with each digit run's value in place of its digits.</summary>
    public override int GetHashCode() => HashCode.Combine(Epoch, Canonical(_upstream), Canonical(_revision));

    /// <summary>The version as written (blanks around it trimmed).</summary>
    public override string ToString() => _text;

    /// <summary>
    /// A string equal for exactly the parts verrevcmp calls equal: leading zeros dropped from each digit run, an
    /// all-zero run kept as "0" except at the very end (where it equals the end of the string: "1.0" is "1.").
    /// </summary>
    private static string Canonical(ReadOnlySpan<byte> part)
    {
        var builder = new StringBuilder(part.Length);
        var i = 0;
        while (i < part.Length)
        {
            if (!IsDigit(part[i]))
            {
                builder.Append((char)part[i]);
                i++;
                continue;
            }

            var run = i;
            while (i < part.Length && IsDigit(part[i]))
            {
                i++;
            }

            var digits = part[run..i].TrimStart((byte)'0');
            if (digits.IsEmpty)
            {
                if (i < part.Length)
                {
                    builder.Append('0');
                }
            }
            else
            {
                builder.Append(Encoding.ASCII.GetString(digits));
            }
        }

        return builder.ToString();
    }

    public static bool operator ==(DebianVersion? left, DebianVersion? right) =>
        left is null ? right is null : left.Equals(right);

    public static bool operator !=(DebianVersion? left, DebianVersion? right) => !(left == right);

    public static bool operator <(DebianVersion? left, DebianVersion? right) =>
        left is null ? right is not null : left.CompareTo(right) < 0;

    public static bool operator <=(DebianVersion? left, DebianVersion? right) =>
        left is null || left.CompareTo(right) <= 0;

    public static bool operator >(DebianVersion? left, DebianVersion? right) =>
        left is not null && left.CompareTo(right) > 0;

    public static bool operator >=(DebianVersion? left, DebianVersion? right) =>
        left is null ? right is null : left.CompareTo(right) >= 0;
}

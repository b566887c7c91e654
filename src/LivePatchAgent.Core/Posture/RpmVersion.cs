namespace LivePatchAgent.Core.Posture;

/// <summary>
/// An rpm EVR, <c>[epoch:]version[-release]</c>, split and ordered as rpm &gt;= 4.16 does it (rpmverParse and
/// rpmverCmp over rpmvercmp), so advisories for RPM-based distributions compare with installed packages the way
/// rpm and dnf would. rpm accepts any non-empty string as a version; so does this.
/// </summary>
/// <remarks>
/// <para>The split: an epoch only when the string starts with digits followed by ':' (":1" has the epoch 0,
/// "a:1" has none), and the release after the last '-'. The order: the epochs (a missing one is "0"), then the
/// versions, then the releases, each with <see cref="CompareSegment"/>; a missing release is older than any
/// release, so "1.0" &lt; "1.0-1".</para>
/// <para>rpm's ordering differs from dpkg's in ways that matter for advisories: a letter segment is older than a
/// digit segment wherever they meet ("2.0.beta" &lt; "2.0.1", where dpkg says newer), separators only separate
/// ("1.0" == "1_0"), and '^' marks a snapshot after a release ("1.0" &lt; "1.0^git1" &lt; "1.0.1").</para>
/// </remarks>
public sealed class RpmVersion : IComparable<RpmVersion>, IEquatable<RpmVersion>
{
    private readonly string _text;

    private RpmVersion(string text, string? epoch, string version, string? release)
    {
        _text = text;
        Epoch = epoch;
        Version = version;
        Release = release;
    }

    /// <summary>The epoch's digits, or null when the EVR has none (it then compares as "0").</summary>
    public string? Epoch { get; }

    /// <summary>The version: after the epoch's colon, up to the last hyphen.</summary>
    public string Version { get; }

    /// <summary>The release after the last hyphen, or null when there is none.</summary>
    public string? Release { get; }

    /// <summary>Splits an EVR as rpmverParse does. Never fails on a non-empty string.</summary>
    /// <exception cref="FormatException">The string is empty: rpm has no version for it.</exception>
    public static RpmVersion Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            throw new FormatException("an empty string is not an rpm version");
        }

        var digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits]))
        {
            digits++;
        }

        // Digits contain no '-', so the last hyphen of the whole string is the one rpm finds after them.
        var hyphen = text.LastIndexOf('-');
        string? epoch = null;
        var versionStart = 0;
        if (digits < text.Length && text[digits] == ':')
        {
            epoch = digits == 0 ? "0" : text[..digits];
            versionStart = digits + 1;
        }

        return hyphen >= 0
            ? new RpmVersion(text, epoch, text[versionStart..hyphen], text[(hyphen + 1)..])
            : new RpmVersion(text, epoch, text[versionStart..], null);
    }

    /// <summary>
    /// Compares two EVR strings as rpm's <c>rpm.vercmp</c> (rpmverCmp) does: negative when <paramref name="a"/> is
    /// older, 0 when rpm considers them equal, positive when newer.
    /// </summary>
    /// <exception cref="FormatException">One of them is empty.</exception>
    public static int Compare(string a, string b) => Parse(a).CompareTo(Parse(b));

    /// <summary>
    /// rpm's rpmvercmp on one field (a version or a release): -1, 0 or 1. Runs of ASCII letters and of digits are
    /// compared in turn, everything else only separates them. Digit runs compare by value (leading zeros ignored)
    /// and are newer than letter runs; '~' sorts before everything, the end of the string included; '^' sorts after
    /// the end of the string but before anything else.
    /// </summary>
    public static int CompareSegment(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (string.Equals(a, b, StringComparison.Ordinal))
        {
            return 0;
        }

        var i = 0;
        var j = 0;
        while (i < a.Length || j < b.Length)
        {
            while (i < a.Length && IsSeparator(a[i]))
            {
                i++;
            }

            while (j < b.Length && IsSeparator(b[j]))
            {
                j++;
            }

            var ca = i < a.Length ? a[i] : '\0';
            var cb = j < b.Length ? b[j] : '\0';

            if (ca == '~' || cb == '~')
            {
                if (ca != '~')
                {
                    return 1;
                }

                if (cb != '~')
                {
                    return -1;
                }

                i++;
                j++;
                continue;
            }

            // Like '~', except that the side which has ended is the older: "1.0" < "1.0^git1" < "1.0.1".
            if (ca == '^' || cb == '^')
            {
                if (i == a.Length)
                {
                    return -1;
                }

                if (j == b.Length)
                {
                    return 1;
                }

                if (ca != '^')
                {
                    return 1;
                }

                if (cb != '^')
                {
                    return -1;
                }

                i++;
                j++;
                continue;
            }

            if (i == a.Length || j == b.Length)
            {
                break;
            }

            var startA = i;
            var startB = j;
            var numeric = char.IsAsciiDigit(a[i]);
            if (numeric)
            {
                while (i < a.Length && char.IsAsciiDigit(a[i]))
                {
                    i++;
                }

                while (j < b.Length && char.IsAsciiDigit(b[j]))
                {
                    j++;
                }
            }
            else
            {
                while (i < a.Length && char.IsAsciiLetter(a[i]))
                {
                    i++;
                }

                while (j < b.Length && char.IsAsciiLetter(b[j]))
                {
                    j++;
                }
            }

            // The segments are of different kinds: the numeric one is the newer.
            if (startB == j)
            {
                return numeric ? 1 : -1;
            }

            if (numeric)
            {
                while (startA < i && a[startA] == '0')
                {
                    startA++;
                }

                while (startB < j && b[startB] == '0')
                {
                    startB++;
                }

                // More significant digits is the larger number, whatever its length in the string.
                if (i - startA != j - startB)
                {
                    return i - startA > j - startB ? 1 : -1;
                }
            }

            var rc = a.AsSpan(startA, i - startA).SequenceCompareTo(b.AsSpan(startB, j - startB));
            if (rc != 0)
            {
                return rc < 0 ? -1 : 1;
            }
        }

        // All segments matched; whichever still has characters left is the newer (separators were skipped above).
        if (i == a.Length && j == b.Length)
        {
            return 0;
        }

        return i == a.Length ? -1 : 1;
    }

    private static bool IsSeparator(char c) => !char.IsAsciiLetterOrDigit(c) && c != '~' && c != '^';

    /// <summary>rpmverCmp: epoch (missing is "0"), version, release (missing is older than present).</summary>
    public int CompareTo(RpmVersion? other)
    {
        if (other is null)
        {
            return 1;
        }

        var rc = CompareSegment(Epoch ?? "0", other.Epoch ?? "0");
        if (rc == 0)
        {
            rc = CompareSegment(Version, other.Version);
        }

        if (rc == 0)
        {
            rc = (Release, other.Release) switch
            {
                (null, null) => 0,
                (null, _) => -1,
                (_, null) => 1,
                var (mine, theirs) => CompareSegment(mine, theirs),
            };
        }

        return rc;
    }

    /// <summary>Equal as rpm sees it, so "1.0-1", "0:1.0-1" and "1_00-01" are all equal.</summary>
    public bool Equals(RpmVersion? other) => other is not null && CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is RpmVersion other && Equals(other);

    /// <summary>Consistent with <see cref="Equals(RpmVersion)"/>: hashes each field's segments, not its spelling.</summary>
    public override int GetHashCode() =>
        HashCode.Combine(Canonical(Epoch ?? "0"), Canonical(Version), Release is null ? null : Canonical(Release));

    /// <summary>The EVR as written.</summary>
    public override string ToString() => _text;

    /// <summary>
    /// A string equal for exactly the fields rpmvercmp calls equal: the sequence of segments (digit runs without
    /// leading zeros, letter runs, '~' and '^'), joined by '.', with the separators as written dropped.
    /// </summary>
    private static string Canonical(string field)
    {
        var segments = new List<string>();
        var i = 0;
        while (i < field.Length)
        {
            var c = field[i];
            if (IsSeparator(c))
            {
                i++;
                continue;
            }

            if (c is '~' or '^')
            {
                segments.Add(c.ToString());
                i++;
                continue;
            }

            var start = i;
            if (char.IsAsciiDigit(c))
            {
                while (i < field.Length && char.IsAsciiDigit(field[i]))
                {
                    i++;
                }

                var digits = field.AsSpan(start, i - start).TrimStart('0');
                segments.Add(digits.IsEmpty ? "0" : digits.ToString());
            }
            else
            {
                while (i < field.Length && char.IsAsciiLetter(field[i]))
                {
                    i++;
                }

                segments.Add(field[start..i]);
            }
        }

        return string.Join('.', segments);
    }

    public static bool operator ==(RpmVersion? left, RpmVersion? right) =>
        left is null ? right is null : left.Equals(right);

    public static bool operator !=(RpmVersion? left, RpmVersion? right) => !(left == right);

    public static bool operator <(RpmVersion? left, RpmVersion? right) =>
        left is null ? right is not null : left.CompareTo(right) < 0;

    public static bool operator <=(RpmVersion? left, RpmVersion? right) =>
        left is null || left.CompareTo(right) <= 0;

    public static bool operator >(RpmVersion? left, RpmVersion? right) =>
        left is not null && left.CompareTo(right) > 0;

    public static bool operator >=(RpmVersion? left, RpmVersion? right) =>
        left is null ? right is null : left.CompareTo(right) >= 0;
}

using System.Globalization;
using System.Text;

namespace LivePatchAgent.Cli.Output;

/// <summary>
/// Makes text that lpctl did not write safe to print on a terminal. A thread's comm and cmdline, its kernel stack
/// frames, a module's signer and description come from processes and files anyone may shape: an escape sequence
/// in them could move the cursor, retitle the window or hide a line. Control characters (C0, DEL, C1), line and
/// paragraph separators and invisible format characters (bidi overrides) are shown as <c>\xNN</c> or
/// <c>\uNNNN</c>; printable text, non-ASCII letters included, stays as it is. The core's DisplayText also quotes
/// and cuts text short for one-line messages; a table shows the value whole.
/// </summary>
internal static class TerminalText
{
    /// <summary>The text with every character a terminal would act on escaped; text without one is returned as it is.</summary>
    public static string Escape(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return value ?? string.Empty;
        }

        if (!value.Any(IsUnsafe))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (!IsUnsafe(c))
            {
                builder.Append(c);
            }
            else if (c <= 0xff)
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// Escapes each line of a value that lpctl itself splits into lines (e.g. problems joined with '\n'): the
    /// line breaks stay, everything else a terminal would act on is escaped.
    /// </summary>
    public static string EscapeLines(string value) =>
        string.Join('\n', value.Split('\n').Select(Escape));

    // Format characters (Cf) include the bidi overrides U+202A-U+202E and U+2066-U+2069 that can make a line
    // read differently from what it contains; surrogates are left alone so that astral characters survive.
    private static bool IsUnsafe(char c) =>
        char.IsControl(c)
        || c is '\u2028' or '\u2029'
        || (c > 0x7f && CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format);
}

using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace LivePatchAgent.Core.Health;

/// <summary>
/// One structured record of the kernel log as /dev/kmsg gives it (Documentation/ABI/testing/dev-kmsg):
/// "prio,seq,usec,flags[,...];text", followed by continuation lines " KEY=value" (SUBSYSTEM=, DEVICE=).
/// Non-printable bytes in the text arrive escaped as \xNN.
/// </summary>
/// <param name="Facility">The syslog facility (prio / 8): 0 for the kernel, 1 (user) for what user space writes to /dev/kmsg.</param>
/// <param name="Level">The log level (prio % 8): 0 emergency … 3 error, 4 warning … 7 debug.</param>
/// <param name="Sequence">The record's sequence number; a gap means records were overwritten before they were read.</param>
/// <param name="Microseconds">The kernel's monotonic timestamp in microseconds since boot.</param>
/// <param name="Continuation">The flags field: '-' for a record of its own, 'c' or '+' for a continued line.</param>
/// <param name="Text">The message, with \xNN escapes decoded.</param>
/// <param name="Properties">The continuation lines' KEY=value pairs.</param>
public sealed record KmsgRecord(
    int Facility,
    int Level,
    ulong Sequence,
    ulong Microseconds,
    char Continuation,
    string Text,
    ImmutableDictionary<string, string> Properties)
{
    /// <summary>Only the kernel's own records (facility 0) are judged: user space may write anything to /dev/kmsg.</summary>
    public bool FromKernel => Facility == 0;

    /// <summary>
    /// Parses one record (its header line and any continuation lines, '\n'-separated). Returns null and a specific
    /// problem for anything that is not a record.
    /// </summary>
    public static KmsgRecord? Parse(ReadOnlySpan<char> record, out string? problem)
    {
        var newline = record.IndexOf('\n');
        var header = newline < 0 ? record : record[..newline];
        var rest = newline < 0 ? [] : record[(newline + 1)..];
        var semicolon = header.IndexOf(';');
        if (semicolon < 0)
        {
            problem = "no ';' between the record's prefix and its text";
            return null;
        }

        var prefix = header[..semicolon];
        Span<Range> fields = stackalloc Range[5];
        var count = prefix.Split(fields, ',');
        if (count < 4)
        {
            problem = $"the prefix \"{Shorten(prefix)}\" has {count} field(s), expected prio,seq,usec,flags";
            return null;
        }

        if (!int.TryParse(prefix[fields[0]], NumberStyles.None, CultureInfo.InvariantCulture, out var prio) || prio > 1023)
        {
            problem = $"the priority \"{Shorten(prefix[fields[0]])}\" is not a number from 0 to 1023";
            return null;
        }

        if (!ulong.TryParse(prefix[fields[1]], NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            problem = $"the sequence number \"{Shorten(prefix[fields[1]])}\" is not a number";
            return null;
        }

        if (!ulong.TryParse(prefix[fields[2]], NumberStyles.None, CultureInfo.InvariantCulture, out var usec))
        {
            problem = $"the timestamp \"{Shorten(prefix[fields[2]])}\" is not a number";
            return null;
        }

        var flags = prefix[fields[3]];
        var properties = ImmutableDictionary<string, string>.Empty;
        foreach (var line in rest.EnumerateLines())
        {
            if (line.Length < 2 || line[0] != ' ')
            {
                continue;
            }

            var eq = line.IndexOf('=');
            if (eq > 1)
            {
                properties = properties.SetItem(line[1..eq].ToString(), Unescape(line[(eq + 1)..]));
            }
        }

        problem = null;
        return new KmsgRecord(prio / 8, prio % 8, seq, usec, flags.IsEmpty ? '-' : flags[0], Unescape(header[(semicolon + 1)..]), properties);
    }

    /// <summary>Decodes the kernel's \xNN escapes (a backslash itself arrives as \x5c).</summary>
    public static string Unescape(ReadOnlySpan<char> text)
    {
        if (text.IndexOf("\\x") < 0)
        {
            return text.ToString();
        }

        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 3 < text.Length && text[i + 1] == 'x'
                && byte.TryParse(text.Slice(i + 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                // Control characters (a tab, a newline inside one message) read as a space: a record is one line.
                result.Append(b < 0x20 || b == 0x7f ? ' ' : (char)b);
                i += 3;
                continue;
            }

            result.Append(text[i]);
        }

        return result.ToString();
    }

    private static string Shorten(ReadOnlySpan<char> text) => text.Length > 40 ? string.Concat(text[..40], "…") : text.ToString();
}

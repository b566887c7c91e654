using System.Text;

namespace LivePatchAgent.Core.Modules;

/// <summary>
/// Puts text taken from an untrusted module into a message: quoted, control and non-ASCII characters escaped,
/// and cut short, so a hostile .modinfo cannot forge log lines or flood the terminal.
/// </summary>
internal static class DisplayText
{
    private const int MaxLength = 160;

    public static string Quote(string value) => $"\"{Escape(value)}\"";

    /// <summary>The same escaping without the quotes, for a value that reads naturally bare (a kernel release).</summary>
    public static string Escape(string value)
    {
        var builder = new StringBuilder(Math.Min(value.Length, MaxLength));
        var shown = 0;
        foreach (var c in value)
        {
            if (shown == MaxLength)
            {
                builder.Append("...");
                break;
            }

            switch (c)
            {
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\\':
                    builder.Append("\\\\");
                    break;
                case >= ' ' and <= '~':
                    builder.Append(c);
                    break;
                default:
                    builder.Append(c <= 0xff ? $"\\x{(int)c:x2}" : $"\\u{(int)c:x4}");
                    break;
            }

            shown++;
        }

        return builder.ToString();
    }

    /// <summary>A byte count with its hex form, as offsets and sizes are compared with readelf output.</summary>
    public static string Hex(ulong value) => $"0x{value:x}";
}

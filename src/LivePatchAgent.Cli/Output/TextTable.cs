using System.Text;

namespace LivePatchAgent.Cli.Output;

/// <summary>
/// A plain-text table with a header row and columns aligned by padding, separated by two spaces (the style of
/// ps, systemctl list-units and kubectl get). The last column is not padded, so lines carry no trailing blanks.
/// Cells are escaped for the terminal (<see cref="TerminalText"/>): a cell is one line of plain text.
/// </summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void AddRow(params string[] cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"expected {headers.Length} cells, got {cells.Length}", nameof(cells));
        }

        _rows.Add([.. cells.Select(TerminalText.Escape)]);
    }

    /// <summary>The header line and then one line per row, in the order they were added, without newlines.</summary>
    public IReadOnlyList<string> Lines() => ToString().TrimEnd('\n').Split('\n');

    public override string ToString()
    {
        var widths = new int[headers.Length];
        foreach (var row in _rows.Prepend(headers))
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        foreach (var row in _rows.Prepend(headers))
        {
            for (var i = 0; i < row.Length; i++)
            {
                if (i == row.Length - 1)
                {
                    text.Append(row[i]);
                }
                else
                {
                    text.Append(row[i].PadRight(widths[i])).Append("  ");
                }
            }

            text.Append('\n');
        }

        return text.ToString();
    }
}

/// <summary>
/// A block of "Key:  value" lines with the values aligned, as in `systemctl status` and `hostnamectl`. A value may
/// span several lines (<see cref="AddLines"/>); continuation lines are indented to the value column. Values are
/// escaped for the terminal (<see cref="TerminalText"/>), line by line, so a value from outside cannot add lines or
/// control sequences of its own.
/// </summary>
internal sealed class KeyValueBlock
{
    private readonly List<(string Key, string[] Lines)> _entries = [];

    /// <summary>A one-line value; a newline in it is shown escaped, never as a line break.</summary>
    public KeyValueBlock Add(string key, string value)
    {
        _entries.Add((key, [TerminalText.Escape(value)]));
        return this;
    }

    /// <summary>A value of several lines, each escaped; the first goes next to the key.</summary>
    public KeyValueBlock AddLines(string key, IEnumerable<string> lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        string[] escaped = [.. lines.Select(TerminalText.Escape)];
        _entries.Add((key, escaped.Length == 0 ? [""] : escaped));
        return this;
    }

    public override string ToString()
    {
        var width = _entries.Count == 0 ? 0 : _entries.Max(e => e.Key.Length) + 1;
        var indent = new string(' ', width + 2);
        var text = new StringBuilder();
        foreach (var (key, lines) in _entries)
        {
            text.Append((key + ":").PadRight(width)).Append("  ");
            text.Append(lines[0]).Append('\n');
            foreach (var line in lines.Skip(1))
            {
                text.Append(indent).Append(line).Append('\n');
            }
        }

        return text.ToString();
    }
}

using System.Text;

namespace LivePatchAgent.Cli.Output;

/// <summary>
/// A plain-text table with a header row and columns aligned by padding, separated by two spaces (the style of
/// ps, systemctl list-units and kubectl get). The last column is not padded, so lines carry no trailing blanks.
/// </summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void AddRow(params string[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"expected {headers.Length} cells, got {cells.Length}", nameof(cells));
        }

        _rows.Add(cells);
    }

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
/// span several lines; continuation lines are indented to the value column.
/// </summary>
internal sealed class KeyValueBlock
{
    private readonly List<(string Key, string Value)> _entries = [];

    public KeyValueBlock Add(string key, string value)
    {
        _entries.Add((key, value));
        return this;
    }

    public override string ToString()
    {
        var width = _entries.Count == 0 ? 0 : _entries.Max(e => e.Key.Length) + 1;
        var indent = new string(' ', width + 2);
        var text = new StringBuilder();
        foreach (var (key, value) in _entries)
        {
            text.Append((key + ":").PadRight(width)).Append("  ");
            var lines = value.Split('\n');
            text.Append(lines[0]).Append('\n');
            foreach (var line in lines.Skip(1))
            {
                text.Append(indent).Append(line).Append('\n');
            }
        }

        return text.ToString();
    }
}

namespace LivePatchAgent.Cli.Output;

/// <summary>How a command prints its result.</summary>
internal enum OutputFormat
{
    /// <summary>Aligned text for people.</summary>
    Table,

    /// <summary>One JSON document with schemaVersion (JSON Lines for watch).</summary>
    Json,
}

/// <summary>The words accepted by <c>-o</c>.</summary>
internal static class OutputFormats
{
    public const string Table = "table";
    public const string Json = "json";

    public static bool TryParse(string? value, out OutputFormat format)
    {
        switch (value)
        {
            case Table:
                format = OutputFormat.Table;
                return true;
            case Json:
                format = OutputFormat.Json;
                return true;
            default:
                format = default;
                return false;
        }
    }
}

namespace LivePatchAgent.Core;

/// <summary>The kernel's rules for module names, which are also live patch names.</summary>
public static class ModuleName
{
    /// <summary>MODULE_NAME_LEN - 1 on 64-bit kernels.</summary>
    public const int MaxLength = 55;

    /// <summary>The name the kernel uses: '-' becomes '_'.</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Replace('-', '_');
    }

    /// <summary>
    /// Why <paramref name="name"/> is not a valid module name, or null when it is. Accepts letters, digits,
    /// '_' and '-', 1 to 55 characters; this rejects path separators, NUL bytes and dots by construction.
    /// </summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "the name is empty";
        }

        if (name.Length > MaxLength)
        {
            return $"the name is {name.Length} characters long; the kernel allows at most {MaxLength}";
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
            {
                return c < 0x20 || c > 0x7e
                    ? $"the name contains the byte 0x{(int)c:x2}; only letters, digits, '_' and '-' are allowed"
                    : $"the name contains '{c}'; only letters, digits, '_' and '-' are allowed";
            }
        }

        return null;
    }
}

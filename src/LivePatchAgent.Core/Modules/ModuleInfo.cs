using System.Collections.Immutable;
using System.Text;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Core.Modules;

/// <summary>
/// The <c>.modinfo</c> section of a kernel module: <c>key=value</c> strings separated by NUL bytes. Keys may
/// repeat (<c>alias</c>, <c>parm</c>, ...); like the kernel's <c>get_modinfo</c>, the single-value properties
/// return the first occurrence.
/// </summary>
public sealed class ModuleInfo
{
    private ModuleInfo(ImmutableArray<KeyValuePair<string, string>> entries) => Entries = entries;

    public static ModuleInfo Empty { get; } = new([]);

    /// <summary>A .modinfo rebuilt from entries kept elsewhere, e.g. in an installed patch's manifest.</summary>
    public static ModuleInfo FromEntries(IEnumerable<KeyValuePair<string, string>> entries) => new([.. entries]);

    /// <summary>Every entry in file order, repeated keys included.</summary>
    public ImmutableArray<KeyValuePair<string, string>> Entries { get; }

    /// <summary>The module name modpost records (<c>KBUILD_MODNAME</c>, with '_' for '-').</summary>
    public string? Name => Get("name");

    /// <summary>The version magic: kernel release, then flag tokens such as <c>SMP preempt mod_unload modversions</c>.</summary>
    public string? Vermagic => Get("vermagic");

    /// <summary><c>Y</c> in a live patch (<c>MODULE_INFO(livepatch, "Y")</c>).</summary>
    public string? Livepatch => Get("livepatch");

    public string? SrcVersion => Get("srcversion");

    public string? Retpoline => Get("retpoline");

    public string? License => Get("license");

    public string? Description => Get("description");

    /// <summary><c>Y</c> for modules built in the kernel tree; live patches are normally out of tree.</summary>
    public string? InTree => Get("intree");

    /// <summary>The modules this one needs loaded first: the comma list of <c>depends=</c>, empty entries dropped.</summary>
    public ImmutableArray<string> Depends =>
        [.. GetAll("depends").SelectMany(d => d.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    public bool IsLivepatch => Livepatch == "Y";

    /// <summary>The CVE ids the patch declares it fixes (<c>livepatch_cve</c>, one per entry), unchecked, in file order.</summary>
    public ImmutableArray<string> LivepatchCves => GetAll(PatchMetadataKeys.Cve);

    /// <summary>The patch's one-line summary (<c>livepatch_summary</c>), unchecked.</summary>
    public string? LivepatchSummary => Get(PatchMetadataKeys.Summary);

    /// <summary>The patch's level (<c>livepatch_level</c>) as written, unchecked.</summary>
    public string? LivepatchLevel => Get(PatchMetadataKeys.Level);

    /// <summary>The kernel package version whose fixes the patch carries (<c>livepatch_fixes_version</c>), unchecked.</summary>
    public string? LivepatchFixesVersion => Get(PatchMetadataKeys.FixesVersion);

    /// <summary>Whether the module declares any <c>livepatch_*</c> metadata key, known or not.</summary>
    public bool DeclaresPatchMetadata => Entries.Any(e => e.Key.StartsWith(PatchMetadataKeys.Prefix, StringComparison.Ordinal));

    /// <summary>The first value of <paramref name="key"/>, or null.</summary>
    public string? Get(string key)
    {
        foreach (var entry in Entries)
        {
            if (entry.Key == key)
            {
                return entry.Value;
            }
        }

        return null;
    }

    public ImmutableArray<string> GetAll(string key) => [.. Entries.Where(e => e.Key == key).Select(e => e.Value)];

    /// <summary>
    /// Parses the section's bytes. <paramref name="sectionOffset"/> is where the section starts in the file, so
    /// an error names a file offset that can be checked with a hex dump.
    /// </summary>
    internal static ModuleInfo Parse(ReadOnlySpan<byte> section, ulong sectionOffset)
    {
        var entries = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
        var position = 0;
        while (position < section.Length)
        {
            // The kernel skips runs of NULs between entries (module_next_tag_pair); so do we.
            if (section[position] == 0)
            {
                position++;
                continue;
            }

            var entryOffset = sectionOffset + (ulong)position;
            var rest = section[position..];
            var length = rest.IndexOf((byte)0);
            if (length < 0)
            {
                throw Malformed($".modinfo entry at offset {DisplayText.Hex(entryOffset)} runs to the end of the section without a terminating NUL byte");
            }

            var entry = rest[..length];
            var equals = entry.IndexOf((byte)'=');
            if (equals <= 0)
            {
                var text = DisplayText.Quote(Encoding.UTF8.GetString(entry));
                throw Malformed(equals == 0
                    ? $".modinfo entry at offset {DisplayText.Hex(entryOffset)} has an empty key: {text}"
                    : $".modinfo entry at offset {DisplayText.Hex(entryOffset)} is not key=value: {text}");
            }

            entries.Add(new(Encoding.UTF8.GetString(entry[..equals]), Encoding.UTF8.GetString(entry[(equals + 1)..])));
            position += length + 1;
        }

        return new ModuleInfo(entries.ToImmutable());
    }

    private static AgentException Malformed(string message) => new(ErrorReason.ModuleMalformed, message);
}

using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace LivePatchAgent.Core.Kernel;

/// <summary>
/// The kernel taint bitmask (/proc/sys/kernel/tainted), decoded with the table of kernel/panic.c.
/// </summary>
public readonly record struct TaintMask(ulong Value)
{
    /// <summary>The taint flags the kernel defines, by bit.</summary>
    public static ImmutableArray<TaintFlag> Flags { get; } =
    [
        new(0, 'P', "proprietary module was loaded"),
        new(1, 'F', "module was force loaded"),
        new(2, 'S', "kernel running on an out of specification system"),
        new(3, 'R', "module was force unloaded"),
        new(4, 'M', "processor reported a machine check exception"),
        new(5, 'B', "bad page referenced or unexpected page flags"),
        new(6, 'U', "taint requested by userspace"),
        new(7, 'D', "kernel died recently (oops or BUG)"),
        new(8, 'A', "ACPI table overridden by user"),
        new(9, 'W', "kernel issued a warning"),
        new(10, 'C', "staging driver was loaded"),
        new(11, 'I', "workaround for a platform firmware bug applied"),
        new(12, 'O', "externally-built (out-of-tree) module was loaded"),
        new(13, 'E', "unsigned module was loaded"),
        new(14, 'L', "soft lockup occurred"),
        new(15, 'K', "kernel has been live patched"),
        new(16, 'X', "auxiliary taint, defined for and used by distros"),
        new(17, 'T', "kernel was built with the struct randomization plugin"),
        new(18, 'N', "an in-kernel test has been run"),
        new(19, 'J', "userspace used a mutating debug operation in fwctl"),
    ];

    /// <summary>The bit of TAINT_LIVEPATCH.</summary>
    public const int LivepatchBit = 15;

    public bool IsLivePatched => (Value & (1UL << LivepatchBit)) != 0;

    /// <summary>The set flags as letters in bit order, e.g. "OEK"; unknown bits are shown as "?".</summary>
    public string Letters
    {
        get
        {
            var text = new StringBuilder();
            for (var bit = 0; bit < 64; bit++)
            {
                if ((Value & (1UL << bit)) == 0)
                {
                    continue;
                }

                text.Append(bit < Flags.Length ? Flags[bit].Letter : '?');
            }

            return text.ToString();
        }
    }

    /// <summary>The set flags, each as "K: kernel has been live patched"; unknown bits as "bit 40: unknown".</summary>
    public ImmutableArray<string> Descriptions
    {
        get
        {
            var list = ImmutableArray.CreateBuilder<string>();
            for (var bit = 0; bit < 64; bit++)
            {
                if ((Value & (1UL << bit)) == 0)
                {
                    continue;
                }

                list.Add(bit < Flags.Length
                    ? string.Create(CultureInfo.InvariantCulture, $"{Flags[bit].Letter}: {Flags[bit].Meaning}")
                    : string.Create(CultureInfo.InvariantCulture, $"bit {bit}: unknown taint"));
            }

            return list.ToImmutable();
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Value} ({Letters})");
}

/// <summary>One kernel taint flag.</summary>
public sealed record TaintFlag(int Bit, char Letter, string Meaning);

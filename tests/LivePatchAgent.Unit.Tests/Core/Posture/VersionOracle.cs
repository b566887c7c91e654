using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace LivePatchAgent.Unit.Tests.Core.Posture;

/// <summary>
/// The real tools as oracles: dpkg for Debian versions, rpm's embedded Lua (rpm.vercmp) for rpm EVRs. rpm answers a
/// whole batch from one process; dpkg has no batch mode, so one shell loop runs it once per case, and a few hundred
/// cases take seconds. A missing tool fails
/// the test with the Debian package to install; it never skips.
/// </summary>
internal static class VersionOracle
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>What dpkg said about one version: its exit code, and the reason of its warning or error, if any.</summary>
    public sealed record DpkgVerdict(int ExitCode, string? Reason);

    /// <summary>
    /// Whether dpkg agrees with each claimed answer, one dpkg run per pair: a claimed sign is put to dpkg as that
    /// relation (lt, eq or gt), which must hold (exit 0); a claimed refusal (null) must make dpkg refuse (exit 2).
    /// That checks the sign exactly with half the processes of asking lt and then eq, and on a loaded two-core
    /// machine the processes are the whole cost. "--" keeps a version starting with '-' from being an option.
    /// </summary>
    public static bool[] DpkgAgrees(IReadOnlyList<(string A, string B)> pairs, IReadOnlyList<int?> claims)
    {
        var dpkg = Require("dpkg", "dpkg");
        const string Script = """
            while IFS=$'\t' read -r a relation b; do
              "$DPKG" --compare-versions -- "$a" "$relation" "$b" 2>/dev/null; echo $?
            done < "$1"
            """;
        var relations = claims.Select(c => c switch { null or < 0 => "lt", 0 => "eq", _ => "gt" }).ToList();
        var lines = RunBatch(pairs.Select((p, i) => $"{Line(p.A)}\t{relations[i]}\t{Line(p.B)}"), Script, dpkg);
        return [.. lines.Select((line, i) => line == (claims[i] is null ? "2" : "0"))];
    }

    /// <summary>
    /// dpkg's own answer for each pair (lt, else eq, else gt; null where it refused a version): for reporting the
    /// cases where <see cref="DpkgAgrees"/> found a difference.
    /// </summary>
    public static int?[] DpkgCompare(IReadOnlyList<(string A, string B)> pairs)
    {
        var dpkg = Require("dpkg", "dpkg");
        const string Script = """
            while IFS=$'\t' read -r a b; do
              "$DPKG" --compare-versions -- "$a" lt "$b" 2>/dev/null; rc=$?
              if [ "$rc" = 0 ]; then echo -1; continue; fi
              if [ "$rc" != 1 ]; then echo error; continue; fi
              "$DPKG" --compare-versions -- "$a" eq "$b" 2>/dev/null; rc=$?
              if [ "$rc" = 0 ]; then echo 0; elif [ "$rc" = 1 ]; then echo 1; else echo error; fi
            done < "$1"
            """;
        var lines = RunBatch(pairs.Select(p => $"{Line(p.A)}\t{Line(p.B)}"), Script, dpkg);
        return [.. lines.Select(line => line == "error" ? (int?)null : int.Parse(line, CultureInfo.InvariantCulture))];
    }

    /// <summary>dpkg's judgement of each version: compared with itself, it exits 2 on an error and warns on stderr.</summary>
    public static DpkgVerdict[] DpkgCheck(IReadOnlyList<string> versions)
    {
        var dpkg = Require("dpkg", "dpkg");
        const string Script = """
            while IFS= read -r v; do
              err=$("$DPKG" --compare-versions -- "$v" eq "$v" 2>&1 >/dev/null); rc=$?
              printf '%s\t%s\n' "$rc" "${err%%$'\n'*}"
            done < "$1"
            """;
        var lines = RunBatch(versions.Select(v => Line(v, tabs: true)), Script, dpkg);
        return [.. lines.Select(line =>
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            var message = line[(tab + 1)..];
            const string Marker = "has bad syntax: ";
            var at = message.LastIndexOf(Marker, StringComparison.Ordinal);
            return new DpkgVerdict(int.Parse(line[..tab], CultureInfo.InvariantCulture), at < 0 ? null : message[(at + Marker.Length)..]);
        })];
    }

    /// <summary>rpm.vercmp(a, b) for each pair, from one rpm process: rpmverParse and rpmverCmp, as rpm &gt;= 4.16 has them.</summary>
    public static int[] RpmCompare(IReadOnlyList<(string A, string B)> pairs)
    {
        var rpm = Require("rpm", "rpm");
        var directory = Directory.CreateTempSubdirectory("lpa-rpm-oracle-");
        try
        {
            var input = Path.Combine(directory.FullName, "pairs.tsv");
            var script = Path.Combine(directory.FullName, "vercmp.lua");
            File.WriteAllText(input, string.Concat(pairs.Select(p => $"{Line(p.A)}\t{Line(p.B)}\n")), new UTF8Encoding(false));
            File.WriteAllText(script, """
                local out = {}
                for line in io.lines(rpm.expand("%{lpa_pairs}")) do
                  local a, b = line:match("^([^\t]*)\t([^\t]*)$")
                  out[#out + 1] = tostring(rpm.vercmp(a, b))
                end
                io.write(table.concat(out, "\n"), "\n")
                """);
            var output = Run(rpm, ["--define", $"lpa_pairs {input}", "--eval", $"%{{lua: dofile('{script}')}}"]);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == pairs.Count, $"rpm answered {lines.Length} comparisons for {pairs.Count} pairs:\n{output}");
            return [.. lines.Select(line => int.Parse(line, CultureInfo.InvariantCulture))];
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The tool's path, or a failed test naming the Debian package that brings it.</summary>
    internal static string Require(string tool, string package)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, tool))
            .FirstOrDefault(File.Exists);
        Assert.True(path is not null, $"{tool} is not installed, and it is the oracle this test compares with: install the Debian package {package} (scripts/setup.sh installs it)");
        return path;
    }

    /// <summary>Versions travel one to a line (pairs split by a tab); the generators never make a newline there.</summary>
    private static string Line(string version, bool tabs = false)
    {
        Assert.True(version.IndexOf('\n', StringComparison.Ordinal) < 0 && (tabs || version.IndexOf('\t', StringComparison.Ordinal) < 0), $"a generated version cannot be passed on one line: {version}");
        return version;
    }

    private static string[] RunBatch(IEnumerable<string> lines, string script, string dpkg)
    {
        var directory = Directory.CreateTempSubdirectory("lpa-dpkg-oracle-");
        try
        {
            var input = Path.Combine(directory.FullName, "input");
            var all = lines.ToList();
            File.WriteAllText(input, string.Concat(all.Select(l => l + "\n")), new UTF8Encoding(false));
            var output = Run("/bin/bash", ["-c", script, "oracle", input], ("DPKG", dpkg));
            var answers = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(answers.Length == all.Count, $"dpkg answered {answers.Length} of {all.Count} cases:\n{output}");
            return answers;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static string Run(string program, string[] arguments, params (string Name, string Value)[] environment)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        // The oracles must answer in the C locale: dpkg's messages are parsed, and nothing may be translated.
        info.Environment["LC_ALL"] = "C";
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(Timeout), $"{program} did not finish within {Timeout}");
        Assert.True(process.ExitCode == 0, $"{program} exited with {process.ExitCode}: {stderr.Result}");
        return stdout;
    }
}

using System.Diagnostics;
using System.Text;

namespace LivePatchAgent.Testing;

/// <summary>
/// Debian's Prometheus tools as the tests use them (packages prometheus and prometheus-node-exporter, installed by
/// scripts/setup.sh): promtool checks the exposition and the rules, the servers run in the integration tests.
/// </summary>
public static class PrometheusTools
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The path of <paramref name="tool"/>; a missing tool is a failure naming the package to install, never a skip.</summary>
    public static string Require(string tool, string package)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Select(directory => Path.Combine(directory, tool))
            .FirstOrDefault(File.Exists);
        return path ?? throw new InvalidOperationException(
            $"{tool} is not installed and this test runs the real one: install the Debian package {package} (scripts/setup.sh installs it)");
    }

    public static string Promtool => Require("promtool", "prometheus");

    /// <summary>Runs promtool with <paramref name="stdin"/> on its standard input; returns its exit code and output (stdout and stderr).</summary>
    public static (int ExitCode, string Output) RunPromtool(string? stdin, string? workingDirectory, params string[] arguments)
    {
        var info = new ProcessStartInfo(Promtool)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("promtool did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin ?? string.Empty);
        process.StandardInput.Close();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"promtool {string.Join(' ', arguments)} did not finish within {Timeout}");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>promtool check metrics on an exposition: the format and the naming conventions (lint).</summary>
    public static (int ExitCode, string Output) CheckMetrics(string exposition) => RunPromtool(exposition, null, "check", "metrics");

    /// <summary>A file of the repository (packaging/prometheus/..., packaging/grafana/...), found above the test's binaries.</summary>
    public static string RepoPath(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LivePatchAgent.sln")))
            {
                return Path.Combine(dir.FullName, relative);
            }
        }

        throw new FileNotFoundException($"the repository is not above {AppContext.BaseDirectory}");
    }

    /// <summary>The text of a repository file.</summary>
    public static string ReadRepoFile(string relative) => File.ReadAllText(RepoPath(relative), Encoding.UTF8);
}

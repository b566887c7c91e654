using System.CommandLine;
using LivePatchAgent.Bench.Load;
using LivePatchAgent.Bench.Suites;

namespace LivePatchAgent.Bench;

/// <summary>
/// <c>lpbench load</c> (the load test, make bench-load) and <c>lpbench run</c> (the benchmark suites, make bench).
/// Exit codes: 0 passed, 1 the load test failed (errors or lost events), 2 usage, 3 the harness could not run.
/// </summary>
internal static class BenchCommandLine
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;
    public const int ExitBroken = 3;

    public static async Task<int> RunAsync(string[] args)
    {
        var daemon = new Option<string>("--daemon") { Description = "livepatchd to run: the Native AOT binary, or livepatchd.dll (run with dotnet).", Required = true, Recursive = true };
        var json = new Option<string>("--json") { Description = "Where to write the JSON results.", Required = true, Recursive = true };

        var duration = new Option<double>("--duration") { Description = "Seconds of load.", DefaultValueFactory = _ => 60 };
        var streams = new Option<int>("--streams") { Description = "Concurrent WatchEvents streams.", DefaultValueFactory = _ => 64 };
        var clients = new Option<int>("--status-clients") { Description = "Concurrent GetStatus clients, each on its own connection, calling back to back.", DefaultValueFactory = _ => 8 };
        var churn = new Option<double>("--churn-interval") { Description = "Milliseconds between two fixture changes.", DefaultValueFactory = _ => 100 };
        var patches = new Option<int>("--patches") { Description = "Patches in the fixture tree at the start.", DefaultValueFactory = _ => 20 };
        var functions = new Option<int>("--functions") { Description = "Functions per patch.", DefaultValueFactory = _ => 20 };
        var settings = new Option<string[]>("--daemon-setting") { Description = "A Section:Key=value setting for livepatchd (repeatable); default: the daemon's defaults.", DefaultValueFactory = _ => [] };
        var load = new Command("load", "The load test: WatchEvents streams and a GetStatus flood against livepatchd on a changing fixture tree.")
        {
            duration, streams, clients, churn, patches, functions, settings,
        };
        load.SetAction(async (parse, cancellationToken) =>
        {
            var loadSettings = new LoadSettings(parse.GetValue(duration), parse.GetValue(streams), parse.GetValue(clients),
                parse.GetValue(churn), parse.GetValue(patches), parse.GetValue(functions), Path.GetFullPath(parse.GetValue(daemon)!),
                parse.GetValue(settings) ?? []);
            if (loadSettings.DurationSeconds <= 0 || loadSettings.Streams < 1 || loadSettings.StatusClients < 1 || loadSettings.ChurnIntervalMs < 1)
            {
                await Console.Error.WriteLineAsync("lpbench: --duration, --streams, --status-clients and --churn-interval must be positive").ConfigureAwait(false);
                return ExitUsage;
            }

            LoadReport report;
            try
            {
                report = await LoadTest.RunAsync(loadSettings, Console.Error, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
            {
                await Console.Error.WriteLineAsync($"lpbench: the load test could not run: {e.Message}").ConfigureAwait(false);
                return ExitBroken;
            }

            report.Print(Console.Out);
            var path = parse.GetValue(json)!;
            BenchJsonContext.Write(path, report, BenchJsonContext.Default.LoadReport);
            Console.Out.WriteLine($"results: {path}");
            return report.Passed ? ExitOk : ExitFailed;
        });

        var lpctl = new Option<string>("--lpctl") { Description = "lpctl to time (the Native AOT binary).", Required = true };
        var hello = new Option<string>("--hello") { Description = "The Native AOT hello-world to time lpctl against.", Required = true };
        var idle = new Option<double>("--idle-seconds") { Description = "The idle window for RSS and CPU.", DefaultValueFactory = _ => 60 };
        var quick = new Option<bool>("--quick") { Description = "Fewer runs and shorter windows: a smoke run, not figures to publish." };
        var suites = new Option<string[]>("--suite") { Description = $"Run only these suites (repeatable): {string.Join(", ", BenchRun.SuiteNames)}.", DefaultValueFactory = _ => [] };
        var run = new Command("run", "The benchmark suites of make bench: one table, one JSON file.") { lpctl, hello, idle, quick, suites };
        run.SetAction(async (parse, cancellationToken) =>
        {
            var chosen = parse.GetValue(suites) is { Length: > 0 } named ? named : BenchRun.SuiteNames;
            if (chosen.Except(BenchRun.SuiteNames).ToList() is { Count: > 0 } unknown)
            {
                await Console.Error.WriteLineAsync($"lpbench: unknown suite(s) {string.Join(", ", unknown)}; known: {string.Join(", ", BenchRun.SuiteNames)}").ConfigureAwait(false);
                return ExitUsage;
            }

            var settings = new BenchSettings(Path.GetFullPath(parse.GetValue(daemon)!), Path.GetFullPath(parse.GetValue(lpctl)!),
                Path.GetFullPath(parse.GetValue(hello)!), parse.GetValue(idle), parse.GetValue(quick), chosen);
            BenchReport report;
            try
            {
                report = await BenchRun.RunAsync(settings, Console.Error, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException)
            {
                await Console.Error.WriteLineAsync($"lpbench: a benchmark could not run: {e.Message}").ConfigureAwait(false);
                return ExitBroken;
            }

            report.Print(Console.Out);
            var path = parse.GetValue(json)!;
            BenchJsonContext.Write(path, report, BenchJsonContext.Default.BenchReport);
            Console.Out.WriteLine($"results: {path}");
            return ExitOk;
        });

        var root = new RootCommand("lpbench: livepatchd load test and benchmarks (see docs/benchmarks.md).") { daemon, json, load, run };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"lpbench: {error.Message}").ConfigureAwait(false);
            }

            return ExitUsage;
        }

        return await parse.InvokeAsync().ConfigureAwait(false);
    }
}

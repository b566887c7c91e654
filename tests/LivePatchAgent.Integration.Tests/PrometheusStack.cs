using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The real Prometheus stack on loopback, for the metrics tests: Debian's node_exporter (textfile collector only,
/// on the daemon's directory) and Debian's Prometheus (scraping and evaluating every second, with livepatchd's
/// rules, its storage in a temporary directory). Each process is started here and killed by its handle on dispose.
/// </summary>
internal sealed partial class PrometheusStack : IAsyncDisposable
{
    private readonly List<ServerProcess> _processes = [];
    private readonly DirectoryInfo _directory = System.IO.Directory.CreateTempSubdirectory("lpa-prom-");
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private int _prometheusPort;

    public string Directory => _directory.FullName;

    /// <summary>Starts a node_exporter serving only the textfiles of <paramref name="textfileDir"/>; returns its port.</summary>
    public async Task<int> StartNodeExporterAsync(string textfileDir)
    {
        var port = FreePort();
        var process = ServerProcess.Start(PrometheusTools.Require("prometheus-node-exporter", "prometheus-node-exporter"),
            $"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults", "--collector.textfile",
            $"--collector.textfile.directory={textfileDir}");
        _processes.Add(process);
        await WaitForHttpAsync(process, $"http://127.0.0.1:{port}/metrics").ConfigureAwait(false);
        return port;
    }

    /// <summary>
    /// Starts Prometheus scraping each target every second as job "node" with its own <c>instance</c> label, and
    /// evaluating livepatchd's shipped rules every second with every <c>for:</c> shortened to <paramref name="forDuration"/>
    /// (docs/metrics.md: the durations are the operator's to tune).
    /// </summary>
    public async Task StartPrometheusAsync(IEnumerable<(string Instance, int Port)> targets, string forDuration = "1s")
    {
        var rules = ForDuration().Replace(PrometheusTools.ReadRepoFile("packaging/prometheus/livepatchd.rules.yml"), $"for: {forDuration}");
        var rulesPath = Path.Combine(Directory, "livepatchd.rules.yml");
        await File.WriteAllTextAsync(rulesPath, rules).ConfigureAwait(false);
        var config = new StringBuilder();
        config.Append("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n");
        config.Append(CultureInfo.InvariantCulture, $"rule_files:\n  - {rulesPath}\n");
        config.Append("scrape_configs:\n  - job_name: node\n    static_configs:\n");
        foreach (var (instance, port) in targets)
        {
            config.Append(CultureInfo.InvariantCulture, $"      - targets: ['127.0.0.1:{port}']\n        labels:\n          instance: {instance}\n");
        }

        var configPath = Path.Combine(Directory, "prometheus.yml");
        await File.WriteAllTextAsync(configPath, config.ToString()).ConfigureAwait(false);
        var check = PrometheusTools.RunPromtool(null, null, "check", "config", configPath);
        if (check.ExitCode != 0)
        {
            throw new InvalidOperationException($"promtool check config: {check.Output}");
        }

        _prometheusPort = FreePort();
        var process = ServerProcess.Start(PrometheusTools.Require("prometheus", "prometheus"),
            $"--config.file={configPath}", $"--storage.tsdb.path={Path.Combine(Directory, "data")}",
            $"--web.listen-address=127.0.0.1:{_prometheusPort}", "--log.level=warn");
        _processes.Add(process);
        await WaitForHttpAsync(process, $"http://127.0.0.1:{_prometheusPort}/-/ready").ConfigureAwait(false);
    }

    /// <summary>An instant query through the HTTP API; returns the result vector (each sample's labels and value).</summary>
    public async Task<IReadOnlyList<Sample>> QueryAsync(string expression)
    {
        var url = $"http://127.0.0.1:{_prometheusPort}/api/v1/query?query={Uri.EscapeDataString(expression)}";
        using var response = await _http.GetAsync(new Uri(url)).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"query {expression} failed ({(int)response.StatusCode}): {body}");
        }

        using var json = JsonDocument.Parse(body);
        var data = json.RootElement.GetProperty("data");
        var resultType = data.GetProperty("resultType").GetString();
        if (resultType == "scalar")
        {
            return [new Sample(new Dictionary<string, string>(), ParseValue(data.GetProperty("result")))];
        }

        return [.. data.GetProperty("result").EnumerateArray().Select(r => new Sample(
            r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal),
            ParseValue(r.GetProperty("value"))))];
    }

    /// <summary>Polls <paramref name="expression"/> until <paramref name="condition"/> holds for its result; returns that result.</summary>
    public async Task<IReadOnlyList<Sample>> WaitForAsync(string expression, Func<IReadOnlyList<Sample>, bool> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        IReadOnlyList<Sample> last = [];
        while (watch.Elapsed < timeout)
        {
            last = await QueryAsync(expression).ConfigureAwait(false);
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(250).ConfigureAwait(false);
        }

        throw new TimeoutException($"{expression} did not reach the expected result within {timeout}; last: "
            + string.Join("; ", last.Select(s => s.ToString())) + "\n" + Logs());
    }

    /// <summary>What the servers wrote to stderr, for a failure message.</summary>
    public string Logs() => string.Join("\n", _processes.Select(p => p.Log));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }

        _http.Dispose();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static double ParseValue(JsonElement value) =>
        double.Parse(value[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture);

    private async Task WaitForHttpAsync(ServerProcess process, string url)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.Name} exited: {process.Log}");
            }

            try
            {
                using var response = await _http.GetAsync(new Uri(url)).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"{process.Name} did not answer {url} within 30 s: {process.Log}");
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"for: \d+[smh]")]
    private static partial Regex ForDuration();

    /// <summary>One sample of a query result.</summary>
    public sealed record Sample(IReadOnlyDictionary<string, string> Labels, double Value)
    {
        public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : "";

        public override string ToString() =>
            "{" + string.Join(",", Labels.Select(l => $"{l.Key}=\"{l.Value}\"")) + "} " + Value.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A server process with its stderr kept; killed (with its children) on dispose.</summary>
    private sealed class ServerProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        private ServerProcess(Process process, string name)
        {
            _process = process;
            Name = name;
        }

        public string Name { get; }

        public bool HasExited => _process.HasExited;

        public string Log
        {
            get
            {
                lock (_log)
                {
                    var text = _log.ToString();
                    return $"[{Name}] " + (text.Length > 4000 ? text[^4000..] : text);
                }
            }
        }

        public static ServerProcess Start(string program, params string[] arguments)
        {
            var info = new ProcessStartInfo(program)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            var process = new Process { StartInfo = info };
            var server = new ServerProcess(process, Path.GetFileName(program));
            process.ErrorDataReceived += (_, e) => server.Append(e.Data);
            process.OutputDataReceived += (_, e) => server.Append(e.Data);
            process.Start();
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            return server;
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_log)
                {
                    _log.AppendLine(line);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }

            _process.Dispose();
        }
    }
}

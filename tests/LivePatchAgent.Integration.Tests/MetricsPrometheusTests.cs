using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The metrics with the real Prometheus stack (docs/metrics.md): daemons write their textfile, node_exporter serves
/// it, Prometheus scrapes it every second and evaluates the shipped rules. A stall fires and resolves its alert
/// through Prometheus's HTTP API, and a fleet of 8 hosts answers every dashboard query and recording rule.
/// </summary>
public sealed partial class MetricsPrometheusTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(40);
    private static readonly string[] SleeperStack = ["[<0>] lpdemo_sleeper_wait+0x1/0x2", "[<0>] cmdline_proc_show+0x1/0x2"];

    private readonly TrustedCertificateDir _trusted = new();
    private readonly OsvFixture _openFeed = OsvFixture.Create();
    private readonly OsvFixture _emptyFeed = OsvFixture.Create();
    private readonly List<Host> _hosts = [];

    public MetricsPrometheusTests()
    {
        _openFeed.Write(new OsvRecord("CVE-2026-0001")
            .Summary("linux: a flaw fixed in 6.1.194-1")
            .DatabaseSpecific("urgency", "high")
            .Affects("Debian:12", "linux", e => e.Range().Introduced("0").Fixed("6.1.194-1")), "debian-kernel.json");
    }

    public void Dispose()
    {
        foreach (var host in _hosts)
        {
            host.Dispose();
        }

        _trusted.Dispose();
        _openFeed.Dispose();
        _emptyFeed.Dispose();
    }

    /// <summary>One simulated host: its kernel tree, the simulated module syscalls, and its node_exporter textfile directory.</summary>
    private sealed class Host : IDisposable
    {
        public Host(string name)
        {
            Name = name;
            Fixture = SysfsFixture.Create(ModuleImage.Release);
            Fixture.Write("etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n");
            Kernel = new SimulatedKernel(Fixture);
            TextfileDir = Directory.CreateTempSubdirectory("lpa-textfile-").FullName;
        }

        public string Name { get; }

        public SysfsFixture Fixture { get; }

        public SimulatedKernel Kernel { get; }

        public string TextfileDir { get; }

        public DaemonHarness Daemon { get; set; } = null!;

        public void Dispose()
        {
            Kernel.Dispose();
            Fixture.Dispose();
            Directory.Delete(TextfileDir, recursive: true);
        }
    }

    private async Task<Host> StartHostAsync(string name, string advisoriesDir, params string[] settings)
    {
        var host = new Host(name);
        _hosts.Add(host);
        host.Daemon = await DaemonHarness.StartAsync(host.Fixture, host.Kernel,
        [
            _trusted.Setting, "Apply:AtStartup=false", $"Posture:AdvisoriesDir={advisoriesDir}",
            $"Metrics:TextfileDir={host.TextfileDir}", "Metrics:CoalesceWindow=00:00:00.100", "Metrics:RefreshInterval=00:00:05",
            .. settings,
        ]);
        return host;
    }

    private static ByteString Module(string name)
    {
        var image = new ModuleImage().With("name", name);
        image.StructModuleName = name;
        return ByteString.CopyFrom(TestSigningKey.Trusted.Sign(image.Build()));
    }

    /// <summary>A load whose patching transition the simulated kernel never finishes, held by a sleeping reader.</summary>
    private static async Task StartStuckLoadAsync(Host host, string patch)
    {
        host.Kernel.Stuck[patch] = true;
        await host.Daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = Module(patch), NoWait = true });
        host.Fixture.AddTask(4242, 4242, "reader", 0, SleeperStack, cgroup: "0::/system.slice/reader.service", cmdline: "cat /proc/cmdline");
        host.Fixture.AddTask(1, 1, "init", 1);
    }

    [Fact]
    public async Task A_stall_fires_LivepatchTransitionStalled_in_Prometheus_and_a_revert_resolves_it()
    {
        var host = await StartHostAsync("stalled-host", _emptyFeed.Directory, "Transitions:StallAfter=00:00:01", "Transitions:OnStall=None");
        await using (host.Daemon)
        {
            await using var stack = new PrometheusStack();
            var port = await stack.StartNodeExporterAsync(host.TextfileDir);
            await stack.StartPrometheusAsync([(host.Name, port)]);
            await stack.WaitForAsync("livepatchd_info", r => r.Count == 1, Bound);
            var quiet = await stack.QueryAsync("ALERTS{alertname=\"LivepatchTransitionStalled\"}");

            await StartStuckLoadAsync(host, "lp_stall");
            var firing = await stack.WaitForAsync("ALERTS{alertname=\"LivepatchTransitionStalled\",alertstate=\"firing\"}", r => r.Count == 1, Bound);
            var file = await File.ReadAllTextAsync(Path.Combine(host.TextfileDir, "livepatchd.prom"));
            var blocking = await stack.QueryAsync("livepatchd_transition_blocking_tasks");
            var info = await stack.QueryAsync("livepatchd_transition_info");

            await host.Daemon.Client.RevertTransitionAsync(new RevertTransitionRequest { Name = "lp_stall" });
            await stack.WaitForAsync("ALERTS{alertname=\"LivepatchTransitionStalled\"}", r => r.Count == 0, Bound);
            var reverted = await stack.WaitForAsync("livepatchd_operations_total{kind=\"revert\",outcome=\"completed\"}", r => r.Count == 1 && r[0].Value == 1, Bound);

            Assert.Empty(quiet);
            Assert.Equal("stalled-host", firing[0].Label("instance"));
            Assert.Equal("warning", firing[0].Label("severity"));
            Assert.Contains("livepatchd_transition_stalled 1\n", file, StringComparison.Ordinal);
            var (exit, lint) = PrometheusTools.CheckMetrics(file);
            Assert.True(exit == 0 && lint.Trim().Length == 0, lint);
            Assert.Equal(1, blocking.Single().Value);
            Assert.Equal("lp_stall", info.Single().Label("patch"));
            Assert.Equal("patching", info.Single().Label("direction"));
            Assert.Single(reverted);
        }
    }

    [Fact]
    public async Task A_fleet_of_8_hosts_answers_every_dashboard_query_and_recording_rule_as_its_fixtures_say()
    {
        // host0..host7: even hosts load a patch (patched), hosts 1, 3 and 5 have an open high CVE (vulnerable), host7
        // has a stalled transition.
        var names = Enumerable.Range(0, 8).Select(i => $"host{i}").ToArray();
        var vulnerable = new HashSet<string> { "host1", "host3", "host5" };
        var patched = new HashSet<string> { "host0", "host2", "host4", "host6" };
        var hosts = await Task.WhenAll(names.Select(n => StartHostAsync(n, vulnerable.Contains(n) ? _openFeed.Directory : _emptyFeed.Directory,
            "Transitions:StallAfter=00:00:01", "Transitions:OnStall=None")));
        try
        {
            await using var stack = new PrometheusStack();
            var targets = new List<(string, int)>();
            foreach (var host in hosts)
            {
                targets.Add((host.Name, await stack.StartNodeExporterAsync(host.TextfileDir)));
            }

            await stack.StartPrometheusAsync(targets);
            // Every host scraped with its operation counters at 0 before anything happens, so increase() sees the loads.
            await stack.WaitForAsync("livepatchd_operations_total{kind=\"load\",outcome=\"completed\"} == 0", r => r.Count == 8, Bound);
            await Task.WhenAll(hosts.Where(h => patched.Contains(h.Name)).Select(h =>
                h.Daemon.Client.LoadPatchAsync(new LoadPatchRequest { Module = Module("lp_fleet") }).ResponseAsync));
            await StartStuckLoadAsync(hosts[7], "lp_stuck");
            await stack.WaitForAsync("fleet:livepatchd_stalled_hosts:count", r => r.Count == 1 && r[0].Value == 1, Bound);
            await stack.WaitForAsync("fleet:livepatchd_vulnerable_hosts:count", r => r.Count == 1 && r[0].Value == 3, Bound);
            await stack.WaitForAsync("fleet:livepatchd_patched_hosts:count", r => r.Count == 1 && r[0].Value == 4, Bound);
            await stack.WaitForAsync("fleet:livepatchd_operations:rate5m{kind=\"load\",outcome=\"completed\"}", r => r.Count == 1 && r[0].Value > 0, Bound);

            var expectations = Expectations(names, vulnerable, patched);
            var records = RecordingRules();
            var dashboard = DashboardExpressions();
            var checkedExpressions = new List<string>();
            foreach (var expression in dashboard.Concat(records.Keys).Concat(records.Values).Distinct())
            {
                var key = records.TryGetValue(expression, out _) ? expression : records.FirstOrDefault(r => r.Value == expression).Key ?? expression;
                Assert.True(expectations.TryGetValue(key, out var expect), $"no expected result for {expression}: add one to this test");
                var result = await stack.QueryAsync(expression);
                try
                {
                    expect(result);
                }
                catch (Exception e) when (e is Xunit.Sdk.XunitException)
                {
                    throw new Xunit.Sdk.XunitException($"{expression} returned [{string.Join("; ", result)}]: {e.Message}");
                }

                checkedExpressions.Add(expression);
            }

            Assert.True(dashboard.Count >= 10, string.Join("\n", dashboard));
            Assert.Equal(12, records.Count);
            Assert.Equal(dashboard.Concat(records.Keys).Concat(records.Values).Distinct().Count(), checkedExpressions.Count);
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.Daemon.DisposeAsync();
            }
        }
    }

    /// <summary>What each dashboard query and recording rule must return on this fleet, by expression (rules by their name).</summary>
    private static Dictionary<string, Action<IReadOnlyList<PrometheusStack.Sample>>> Expectations(
        string[] names, HashSet<string> vulnerable, HashSet<string> patched)
    {
        Action<IReadOnlyList<PrometheusStack.Sample>> Scalar(double value) => r => Assert.Equal(value, Assert.Single(r).Value);
        Action<IReadOnlyList<PrometheusStack.Sample>> PerHost(Func<string, double> value) => r =>
        {
            Assert.Equal(names, r.Select(s => s.Label("instance")).Order(StringComparer.Ordinal));
            Assert.All(r, s => Assert.Equal(value(s.Label("instance")), s.Value));
        };
        double One(bool condition) => condition ? 1 : 0;

        return new(StringComparer.Ordinal)
        {
            ["fleet:livepatchd_hosts:count"] = Scalar(8),
            ["fleet:livepatchd_vulnerable_hosts:count"] = Scalar(vulnerable.Count),
            ["fleet:livepatchd_patched_hosts:count"] = Scalar(patched.Count),
            ["fleet:livepatchd_transitioning_hosts:count"] = Scalar(1),
            ["fleet:livepatchd_stalled_hosts:count"] = Scalar(1),
            ["fleet:livepatchd_degraded_hosts:count"] = Scalar(0),
            ["instance:livepatchd_cves_open:sum"] = PerHost(h => One(vulnerable.Contains(h))),
            ["instance:livepatchd_cves_open_high:sum"] = PerHost(h => One(vulnerable.Contains(h))),
            ["instance:livepatchd_cves_fixed_live:sum"] = PerHost(_ => 0),
            ["instance:livepatchd_patches_enabled:sum"] = PerHost(h => One(patched.Contains(h))),
            ["max by (instance, kernel_release, version) (livepatchd_info)"] = r =>
            {
                PerHost(_ => 1)(r);
                Assert.All(r, s => Assert.Equal(ModuleImage.Release, s.Label("kernel_release")));
                Assert.All(r, s => Assert.NotEqual("", s.Label("version")));
            },
            ["max by (instance, state) (livepatchd_state == 1)"] = r =>
            {
                PerHost(_ => 1)(r);
                Assert.All(r, s => Assert.Equal(s.Label("instance") == "host7" ? "stalled" : "idle", s.Label("state")));
            },
            ["max by (instance) (livepatchd_transition_stalled)"] = PerHost(h => One(h == "host7")),
            ["sum by (instance) (livepatchd_transition_running)"] = PerHost(h => One(h == "host7")),
            ["sum by (instance) (livepatchd_transition_stalled)"] = PerHost(h => One(h == "host7")),
            ["fleet:livepatchd_transitions:rate5m"] = r =>
            {
                Assert.Equal(["patching", "unpatching"], r.Select(s => s.Label("direction")).Order(StringComparer.Ordinal));
                Assert.True(r.Single(s => s.Label("direction") == "patching").Value > 0);
                Assert.Equal(0, r.Single(s => s.Label("direction") == "unpatching").Value);
            },
            ["fleet:livepatchd_operations:rate5m"] = r =>
            {
                Assert.Contains(r, s => s.Label("kind") == "force" && s.Label("outcome") == "forced" && s.Value == 0);
                Assert.True(r.Single(s => s.Label("kind") == "load" && s.Label("outcome") == "completed").Value > 0);
                Assert.All(r.Where(s => s.Label("kind") != "load"), s => Assert.Equal(0, s.Value));
            },
            ["sum by (kind, outcome) (increase(livepatchd_operations_total[1d])) > 0"] = r =>
            {
                var load = Assert.Single(r);
                Assert.Equal(("load", "completed"), (load.Label("kind"), load.Label("outcome")));
                // One load on each of 4 hosts; increase() extrapolates a little past the samples.
                Assert.InRange(load.Value, 4, 6);
            },
            ["sum by (severity) (livepatchd_cves{state=\"open\"})"] = r =>
            {
                Assert.Equal(["critical", "high", "low", "medium", "none", "unknown"], r.Select(s => s.Label("severity")).Order(StringComparer.Ordinal));
                Assert.All(r, s => Assert.Equal(s.Label("severity") == "high" ? vulnerable.Count : 0, s.Value));
            },
        };
    }

    private static List<string> DashboardExpressions()
    {
        using var dashboard = JsonDocument.Parse(PrometheusTools.ReadRepoFile("packaging/grafana/livepatchd-fleet.json"));
        return [.. dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)];
    }

    /// <summary>The recording rules of the shipped file: name to expression (each on one line).</summary>
    private static Dictionary<string, string> RecordingRules() =>
        RecordRule().Matches(PrometheusTools.ReadRepoFile("packaging/prometheus/livepatchd.rules.yml"))
            .ToDictionary(m => m.Groups["name"].Value, m => m.Groups["expr"].Value.Trim(), StringComparer.Ordinal);

    [GeneratedRegex(@"- record: (?<name>\S+)\n\s+expr: (?<expr>.+)")]
    private static partial Regex RecordRule();
}

using System.Text;
using System.Text.RegularExpressions;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Daemon.DBus;

namespace LivePatchAgent.Unit.Tests.Daemon.DBus;

/// <summary>The XML file is the contract: the object answers exactly what it declares, in both directions.</summary>
public sealed partial class AgentBusContractTests
{
    private static readonly ContractXml Contract = ContractXml.FromRepository();

    [Fact]
    public void The_embedded_contract_is_the_repository_file()
    {
        Assert.Equal(File.ReadAllText(ContractXml.RepositoryFile(ContractXml.RepositoryPath)), AgentBusContract.ContractXml);
    }

    [Fact]
    public void Every_method_of_the_contract_is_answered_with_its_signatures_and_no_other()
    {
        var declared = Contract.Methods.Select(m => (m.Name, m.In, m.Out)).Order();
        var answered = AgentBusContract.Methods.Select(m => (m.Key, m.Value.In, m.Value.Out)).Order();

        Assert.Equal(declared, answered);
    }

    [Fact]
    public void Every_property_of_the_contract_is_answered_with_its_type_and_change_signal_and_no_other()
    {
        Assert.All(Contract.Properties, p => Assert.Equal("read", p.Access));
        var declared = Contract.Properties.Select(p => (p.Name, p.Type, p.EmitsChangedSignal));
        var answered = AgentBusProperties.All.Select(p => (p.Name, p.Signature, p.Emits.ToString().ToLowerInvariant()));

        // Same members, same order (GetAll and introspection list them as the file does).
        Assert.Equal(declared, answered);
    }

    [Fact]
    public void Every_signal_of_the_contract_is_sent_with_its_signature_and_no_other()
    {
        var declared = Contract.Signals.Select(s => (s.Name, s.Signature)).Order();
        var sent = AgentBusContract.Signals.Select(s => (s.Key, s.Value)).Order();

        Assert.Equal(declared, sent);
    }

    [Fact]
    public void The_signal_records_match_the_signal_table()
    {
        AgentBusSignal[] all = [new PatchStateChangedSignal("a", "enabled"), new TransitionStalledSignal("a", 1, 2), new KernelChangedSignal("r"), new KernelHealthReportSignal("warning", "p", "module", "alert", "s")];

        Assert.Equal(AgentBusContract.Signals.Keys.Order(), all.Select(s => s.Member).Order());
    }

    [Fact]
    public void Introspection_serves_the_interface_without_the_documentation_comments()
    {
        var served = Encoding.UTF8.GetString(AgentBusContract.InterfaceXml.Span);

        Assert.StartsWith("<interface name=\"org.livepatchd.Agent1\">", served.TrimStart(), StringComparison.Ordinal);
        Assert.DoesNotContain("<!--", served, StringComparison.Ordinal);
        // Still the same interface as the documented file.
        var reparsed = ContractXml.Parse($"<node>{served}</node>");
        Assert.Equal(Contract.Methods, reparsed.Methods);
        Assert.Equal(Contract.Properties, reparsed.Properties);
        Assert.Equal(Contract.Signals, reparsed.Signals);
    }

    [Fact]
    public void Every_member_is_documented_in_the_file()
    {
        var text = AgentBusContract.ContractXml;
        foreach (var name in Contract.Methods.Select(m => m.Name).Concat(Contract.Properties.Select(p => p.Name)).Concat(Contract.Signals.Select(s => s.Name)))
        {
            // The element is preceded by a comment that closes right before it.
            Assert.Matches(new Regex($@"-->\s*<(method|property|signal) name=""{name}"""), text);
        }
    }

    [Theory]
    [InlineData("patch-not-found", "org.livepatchd.Agent1.Error.PatchNotFound")]
    [InlineData("invalid-argument", "org.livepatchd.Agent1.Error.InvalidArgument")]
    [InlineData("internal", "org.livepatchd.Agent1.Error.Internal")]
    [InlineData("kernel-rejected-signature", "org.livepatchd.Agent1.Error.KernelRejectedSignature")]
    public void Error_names_are_the_reason_in_CamelCase(string code, string expected)
    {
        Assert.Equal(expected, AgentBusContract.ErrorName(ErrorReason.Find(code)!));
    }

    [Fact]
    public void Every_catalogued_reason_has_a_valid_distinct_D_Bus_error_name()
    {
        var names = ErrorReason.All.Select(AgentBusContract.ErrorName).ToList();

        Assert.Equal(names.Count, names.Distinct().Count());
        // dbus-specification "Error names": interface-name rules, at most 255 bytes.
        Assert.All(names, n => Assert.Matches(ErrorNameRule(), n));
        Assert.All(names, n => Assert.True(n.Length <= 255));
    }

    [Fact]
    public void Docs_dbus_md_documents_every_member_and_the_error_rule()
    {
        var docs = File.ReadAllText(ContractXml.RepositoryFile("docs/dbus.md"));

        Assert.All(Contract.Properties, p => Assert.Contains($"`{p.Name}`", docs, StringComparison.Ordinal));
        Assert.All(Contract.Methods, m => Assert.Contains($"`{m.Name}", docs, StringComparison.Ordinal));
        Assert.All(Contract.Signals, s => Assert.Contains($"`{s.Name}", docs, StringComparison.Ordinal));
        Assert.Contains("org.livepatchd.Agent1.Error.PatchNotFound", docs, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")]
    private static partial Regex ErrorNameRule();
}

using System.Text.RegularExpressions;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Unit.Tests.Core.Errors;

public sealed partial class ErrorCatalogueTests
{
    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(relative);
    }

    [Fact]
    public void Reasons_are_unique_kebab_case()
    {
        Assert.Equal(ErrorReason.All.Length, ErrorReason.All.Select(r => r.Code).Distinct().Count());
        Assert.All(ErrorReason.All, r => Assert.Matches("^[a-z]+(-[a-z]+)*$", r.Code));
        Assert.All(ErrorReason.All, r => Assert.False(string.IsNullOrWhiteSpace(r.Meaning) || string.IsNullOrWhiteSpace(r.Remedy)));
    }

    [Fact]
    public void Docs_errors_md_lists_exactly_the_catalogue()
    {
        var text = File.ReadAllText(RepoFile("docs/errors.md"));
        var documented = ReasonRow().Matches(text).Select(m => m.Groups[1].Value).ToHashSet();

        Assert.Equal(ErrorReason.All.Select(r => r.Code).Order(), documented.Order());
    }

    [GeneratedRegex(@"^\| `([a-z-]+)` \|", RegexOptions.Multiline)]
    private static partial Regex ReasonRow();
}

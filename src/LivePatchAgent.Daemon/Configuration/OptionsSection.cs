using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>
/// One options section as the configuration check sees it: its name, its keys (<see cref="Setting"/>), and how to bind
/// and validate it. Problems are found from the structure, never from an exception's text: a key that is not in the
/// table is unknown, a value its setting does not accept is a bad value, and the validator's failures are taken as
/// they come. Each line names the full key (Section:Key) and the problem.
/// </summary>
internal abstract class OptionsSection
{
    protected OptionsSection(string name, IReadOnlyList<Setting> settings)
    {
        Name = name;
        Settings = settings;
    }

    public string Name { get; }

    public IReadOnlyList<Setting> Settings { get; }

    /// <summary>The options class the section binds to; a unit test holds <see cref="Settings"/> equal to its properties.</summary>
    public abstract Type OptionsType { get; }

    /// <summary>Creates the section. <paramref name="bind"/> must call the binder with the concrete type, so the
    /// configuration binder source generator intercepts it (a generic call would fall back to reflection).</summary>
    public static OptionsSection For<T>(string name, Func<IConfigurationSection, T?> bind, IValidateOptions<T> validator, params Setting[] settings)
        where T : class, new() => new Typed<T>(name, bind, validator, settings);

    /// <summary>Adds one line per problem of this section of <paramref name="configuration"/> to <paramref name="errors"/>.</summary>
    public void Check(IConfiguration configuration, List<string> errors)
    {
        var section = configuration.GetSection(Name);
        var unknown = new List<string>();
        var valid = true;
        foreach (var child in section.GetChildren())
        {
            var setting = Settings.FirstOrDefault(s => string.Equals(s.Key, child.Key, StringComparison.OrdinalIgnoreCase));
            if (setting is null)
            {
                unknown.Add($"'{child.Key}'");
            }
            else if (child.Value is null)
            {
                // A JSON object or array where a value belongs; the binder would skip it silently.
                errors.Add($"{Name}:{setting.Key}: must be a single value ({setting.Expected}), not a section");
                valid = false;
            }
            else if (!setting.Accepts(child.Value))
            {
                errors.Add($"{Name}:{setting.Key}: cannot use \"{child.Value}\" as {setting.Expected}");
                valid = false;
            }
        }

        if (unknown.Count > 0)
        {
            errors.Add($"{Name}: unknown setting(s) {string.Join(", ", unknown)} (known: {string.Join(", ", Settings.Select(s => s.Key))})");
        }

        if (valid)
        {
            foreach (var failure in BindAndValidate(section))
            {
                errors.Add(Describe(failure));
            }
        }
    }

    /// <summary>Binds the section, whose every value its setting accepted, and runs the validator.</summary>
    protected abstract IEnumerable<string> BindAndValidate(IConfigurationSection section);

    /// <summary>
    /// A validator failure names its member first: the source-generated [OptionsValidator] reports a
    /// data-annotation failure as "Member: message" (ValidateOptionsResultBuilder), and the hand-written
    /// validators follow suit. The member is looked up in the table; anything else is kept whole.
    /// </summary>
    private string Describe(string failure)
    {
        var colon = failure.IndexOf(": ", StringComparison.Ordinal);
        var member = colon > 0 ? Settings.FirstOrDefault(s => s.Key == failure[..colon]) : null;
        return member is not null ? $"{Name}:{failure}" : $"{Name}: {failure}";
    }

    private sealed class Typed<T>(string name, Func<IConfigurationSection, T?> bind, IValidateOptions<T> validator, Setting[] settings)
        : OptionsSection(name, settings)
        where T : class, new()
    {
        public override Type OptionsType => typeof(T);

        protected override IEnumerable<string> BindAndValidate(IConfigurationSection section)
        {
            T options;
            try
            {
                options = bind(section) ?? new T();
            }
            catch (InvalidOperationException e)
            {
                // Not reached while each Setting parses as the binder does (a unit test compares them); should the
                // two ever differ, the binder's own message is still one line naming the key.
                return [e.Message];
            }

            var result = validator.Validate(null, options);
            return result.Failed ? result.Failures ?? [] : [];
        }
    }
}

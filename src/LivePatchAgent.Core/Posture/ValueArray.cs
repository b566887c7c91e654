using System.Collections;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;

namespace LivePatchAgent.Core.Posture;

/// <summary>
/// An immutable array that is equal to another when their elements are. A record compares its members with
/// <see cref="EqualityComparer{T}.Default"/>, which for <see cref="ImmutableArray{T}"/> compares the underlying array
/// reference; the posture is published and compared with the previous one to detect a change, so its lists must
/// compare by content. The default value is the empty array.
/// </summary>
[CollectionBuilder(typeof(ValueArray), nameof(ValueArray.Create))]
public readonly struct ValueArray<T> : IEquatable<ValueArray<T>>, IReadOnlyList<T>
{
    private readonly ImmutableArray<T> _items;

    public ValueArray(ImmutableArray<T> items) => _items = items;

    public ImmutableArray<T> Items => _items.IsDefault ? [] : _items;

    public int Count => _items.IsDefault ? 0 : _items.Length;

    public bool IsEmpty => Count == 0;

    public T this[int index] => Items[index];

    public static bool operator ==(ValueArray<T> left, ValueArray<T> right) => left.Equals(right);

    public static bool operator !=(ValueArray<T> left, ValueArray<T> right) => !left.Equals(right);

    public ImmutableArray<T>.Enumerator GetEnumerator() => Items.GetEnumerator();

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => ((IEnumerable<T>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable)Items).GetEnumerator();

    public bool Equals(ValueArray<T> other) => Items.AsSpan().SequenceEqual(other.Items.AsSpan(), EqualityComparer<T>.Default);

    public override bool Equals(object? obj) => obj is ValueArray<T> other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in Items)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    /// <summary>The elements in brackets, so a record's generated ToString shows them instead of the type name.</summary>
    public override string ToString() => "[" + string.Join(", ", Items) + "]";
}

/// <summary>Builds <see cref="ValueArray{T}"/> values (collection expressions use <see cref="Create{T}"/>).</summary>
public static class ValueArray
{
    public static ValueArray<T> Create<T>(ReadOnlySpan<T> items) => new(ImmutableArray.Create(items));

    public static ValueArray<T> ToValueArray<T>(this IEnumerable<T> items) => new([.. items]);

    public static ValueArray<T> ToValueArray<T>(this ImmutableArray<T> items) => new(items);
}

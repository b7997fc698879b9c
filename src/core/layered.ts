/** A read-only map made as a patch over another, for results computed by difference (pure). */

/**
 * A map as a patch over another (undefined: deleted there): reads look in the patch, then below. Layers are folded
 * into one map every `MAX_LAYERS` patches, so a read costs a few lookups and a render made as a difference costs its
 * changed refs (and a copy of the map once in that many renders), not a copy of the whole map each time.
 */
export class Layered<K, V> implements ReadonlyMap<K, V> {
  private static readonly MAX_LAYERS = 16;
  private flat: Map<K, V> | undefined;
  private constructor(private readonly below: ReadonlyMap<K, V>, private readonly patch: ReadonlyMap<K, V | undefined>, private readonly depth: number, readonly size: number) {}

  static over<K, V>(below: ReadonlyMap<K, V>, patch: ReadonlyMap<K, V | undefined>): ReadonlyMap<K, V> {
    let size = below.size;
    for (const [k, v] of patch) size += (below.has(k) ? -1 : 0) + (v === undefined ? 0 : 1);
    const depth = below instanceof Layered ? below.depth + 1 : 1;
    const layered = new Layered(below, patch, depth, size);
    return depth >= Layered.MAX_LAYERS ? layered.folded() : layered;
  }

  private folded(): Map<K, V> {
    if (!this.flat) {
      const out = new Map(this.below);
      for (const [k, v] of this.patch) {
        if (v === undefined) out.delete(k);
        else out.set(k, v);
      }
      this.flat = out;
    }
    return this.flat;
  }

  get(k: K): V | undefined {
    if (this.flat) return this.flat.get(k);
    return this.patch.has(k) ? this.patch.get(k) : this.below.get(k);
  }
  has(k: K): boolean {
    return this.get(k) !== undefined;
  }
  forEach(f: (v: V, k: K, m: ReadonlyMap<K, V>) => void): void {
    this.folded().forEach((v, k) => f(v, k, this));
  }
  entries(): MapIterator<[K, V]> {
    return this.folded().entries();
  }
  keys(): MapIterator<K> {
    return this.folded().keys();
  }
  values(): MapIterator<V> {
    return this.folded().values();
  }
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.folded()[Symbol.iterator]();
  }
}

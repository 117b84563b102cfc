/**
 * A Map that keeps at most `max` entries: setting a key makes it the newest, and a set beyond
 * `max` drops the oldest. For per-process caches whose entries also expire on their own, where
 * the bound only stops a burst of distinct keys from growing the heap without limit.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.max) {
      const oldest = this.keys().next();
      if (!oldest.done) super.delete(oldest.value);
    }
    return this;
  }
}

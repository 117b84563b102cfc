/**
 * A sorted sequence stored as a list of blocks of at most MAX_BLOCK items, so an insertion or
 * removal moves at most one block's items instead of the whole index (a flat array's `splice`
 * on a 100,000-entry index copies ~800 KB). Positions are global indices, as in a flat array;
 * the block start offsets they need are rebuilt lazily after a change.
 */
const MAX_BLOCK = 256;

export class EntryList<T> {
  private blocks: T[][] = [];
  /** Global index of each block's first item; undefined after a change. */
  private starts: number[] | undefined = [];
  private count = 0;
  /** Blocks a snapshot is reading (see `freeze`): copied before their first change. */
  private shared: Set<T[]> | undefined;

  /** Takes ownership of `sorted`, which must already be in order. */
  static fromSorted<T>(sorted: T[]): EntryList<T> {
    const list = new EntryList<T>();
    for (let i = 0; i < sorted.length; i += MAX_BLOCK / 2) {
      list.blocks.push(sorted.slice(i, i + MAX_BLOCK / 2));
    }
    list.count = sorted.length;
    list.starts = undefined;
    return list;
  }

  get length(): number {
    return this.count;
  }

  private offsets(): number[] {
    if (this.starts) return this.starts;
    const starts: number[] = new Array<number>(this.blocks.length);
    let n = 0;
    for (let b = 0; b < this.blocks.length; b++) {
      starts[b] = n;
      n += (this.blocks[b] as T[]).length;
    }
    this.starts = starts;
    return starts;
  }

  /** Block and offset of the first item satisfying `pred` (monotonic); [blocks, 0] if none. */
  private locate(pred: (item: T) => boolean): [number, number] {
    const blocks = this.blocks;
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = blocks[mid] as T[];
      if (pred(block[block.length - 1] as T)) hi = mid;
      else lo = mid + 1;
    }
    if (lo === blocks.length) return [lo, 0];
    const block = blocks[lo] as T[];
    let a = 0;
    let z = block.length - 1;
    while (a < z) {
      const mid = (a + z) >>> 1;
      if (pred(block[mid] as T)) z = mid;
      else a = mid + 1;
    }
    return [lo, a];
  }

  /** Global index of the first item satisfying `pred` (monotonic over the order); length if none. */
  firstWhere(pred: (item: T) => boolean): number {
    const [b, i] = this.locate(pred);
    if (b === this.blocks.length) return this.count;
    return (this.offsets()[b] as number) + i;
  }

  /** Items at global indices [start, end), in order or (backwards) in reverse order. */
  *range(start: number, end: number, backwards = false): Generator<T> {
    if (start >= end) return;
    const starts = this.offsets();
    const blockOf = (pos: number): number => {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if ((starts[mid] as number) <= pos) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    // Blocks are read afresh at each step, but callers must not change the list meanwhile.
    if (!backwards) {
      let b = blockOf(start);
      let i = start - (starts[b] as number);
      for (let n = end - start; n > 0; n--) {
        let block = this.blocks[b] as T[];
        if (i >= block.length) {
          b++;
          i = 0;
          block = this.blocks[b] as T[];
        }
        yield block[i++] as T;
      }
    } else {
      let b = blockOf(end - 1);
      let i = end - 1 - (starts[b] as number);
      for (let n = end - start; n > 0; n--) {
        if (i < 0) {
          b--;
          i = (this.blocks[b] as T[]).length - 1;
        }
        yield (this.blocks[b] as T[])[i--] as T;
      }
    }
  }

  /**
   * The current items as blocks, for a reader that works across event-loop turns while the list
   * keeps changing: until `thaw`, a block is copied before its first change (copy-on-write), so
   * the returned blocks keep exactly the items they held when frozen.
   */
  freeze(): T[][] {
    this.shared = new Set(this.blocks);
    return this.blocks.slice();
  }

  thaw(): void {
    this.shared = undefined;
  }

  /** Block `b`, copied first if a snapshot still reads it. */
  private writable(b: number): T[] {
    const block = this.blocks[b] as T[];
    if (!this.shared?.delete(block)) return block;
    const copy = block.slice();
    this.blocks[b] = copy;
    return copy;
  }

  /** Inserts before the first item satisfying `before` (monotonic), or at the end. */
  insert(item: T, before: (x: T) => boolean): void {
    this.count++;
    this.starts = undefined;
    if (this.blocks.length === 0) {
      this.blocks.push([item]);
      return;
    }
    let [b, i] = this.locate(before);
    if (b === this.blocks.length) {
      b--;
      i = (this.blocks[b] as T[]).length;
    }
    const block = this.writable(b);
    block.splice(i, 0, item);
    if (block.length > MAX_BLOCK) this.blocks.splice(b + 1, 0, block.splice(MAX_BLOCK / 2));
  }

  /** Removes the first item satisfying `atOrAfter` (monotonic) when `matches` accepts it. */
  removeFirst(atOrAfter: (x: T) => boolean, matches: (x: T) => boolean): boolean {
    const [b, i] = this.locate(atOrAfter);
    const found = this.blocks[b];
    if (!found || !matches(found[i] as T)) return false;
    const block = this.writable(b);
    block.splice(i, 1);
    if (block.length === 0) this.blocks.splice(b, 1);
    this.count--;
    this.starts = undefined;
    return true;
  }

  *[Symbol.iterator](): Generator<T> {
    for (const block of this.blocks) yield* block;
  }
}

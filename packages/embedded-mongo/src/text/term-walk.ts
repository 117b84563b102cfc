import type { Posting } from './inverted-index.js';

/**
 * One query's postings, looked up once, answered without touching every document of every
 * term: the candidates are the slots of the rarest required term; each is checked against the
 * other required and excluded terms, and scored from the `any` terms, by galloping through
 * their postings (all postings hold ascending slots), so the cost follows the rarest term, not
 * the most common one, and nothing is allocated per candidate. With no required term, every
 * `any` posting is visited (a document may hold any of them).
 */
export class TermWalk<V> {
  constructor(
    private readonly values: ReadonlyArray<V | undefined>,
    /** Terms a match holds all of, rarest first (empty: no such condition). */
    private readonly required: readonly Posting[],
    /** Terms a match holds one at least of; its score is the sum of its scores for them. */
    private readonly any: readonly Posting[],
    /** Terms a match holds none of. */
    private readonly none: readonly Posting[],
    /** False when a required term has no posting: nothing matches. */
    private readonly possible: boolean,
  ) {}

  /** Every live match with its score, in slot order. */
  walk(visit: (value: V, score: number) => void): void {
    if (!this.possible) return;
    const [rarest, ...others] = this.required;
    if (!rarest) return this.walkAny(visit);
    const cursors = this.cursors(others);
    for (const slot of rarest.slots) {
      const score = this.scoreAt(slot, others, cursors);
      const value = score === 0 ? undefined : this.values[slot];
      if (value !== undefined) visit(value, score);
    }
  }

  /** A cursor per posting of each list, all at the start (slots come in ascending order). */
  private cursors(required: readonly Posting[]): Cursors {
    return {
      required: new Int32Array(required.length),
      any: new Int32Array(this.any.length),
      none: new Int32Array(this.none.length),
    };
  }

  /**
   * The slot's score when it holds every term of `required`, none of `none` and some of `any`;
   * 0 otherwise. Slots must come in ascending order for the same cursors.
   */
  private scoreAt(slot: number, required: readonly Posting[], cursors: Cursors): number {
    for (let i = 0; i < required.length; i++)
      if (!holds(required[i] as Posting, cursors.required, i, slot)) return 0;
    for (let i = 0; i < this.none.length; i++)
      if (holds(this.none[i] as Posting, cursors.none, i, slot)) return 0;
    let score = 0;
    for (let i = 0; i < this.any.length; i++) {
      const p = this.any[i] as Posting;
      if (holds(p, cursors.any, i, slot)) score += p.scores[cursors.any[i] as number] as number;
    }
    return score;
  }

  /** No required term: every slot of every `any` posting, summed, in slot order. */
  private walkAny(visit: (value: V, score: number) => void): void {
    const total = this.any.reduce((n, p) => n + p.slots.length, 0);
    if (total === 0) return;
    // Sum into a dense array when the hits are many, else a map (no big allocation per query).
    const dense = total * 16 > this.values.length;
    const sums = dense ? new Float64Array(this.values.length) : new Map<number, number>();
    for (const { slots, scores } of this.any) {
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i] as number;
        if (sums instanceof Float64Array)
          sums[slot] = (sums[slot] as number) + (scores[i] as number);
        else sums.set(slot, (sums.get(slot) ?? 0) + (scores[i] as number));
      }
    }
    const cursors = this.cursors([]);
    const take = (slot: number, score: number) => {
      if (score === 0) return;
      for (let i = 0; i < this.none.length; i++)
        if (holds(this.none[i] as Posting, cursors.none, i, slot)) return;
      const value = this.values[slot];
      if (value !== undefined) visit(value, score);
    };
    if (sums instanceof Float64Array)
      for (let s = 0; s < sums.length; s++) take(s, sums[s] as number);
    else for (const [s, score] of [...sums].sort((a, b) => a[0] - b[0])) take(s, score);
  }
}

interface Cursors {
  required: Int32Array;
  any: Int32Array;
  none: Int32Array;
}

/**
 * Moves cursor `at` of posting `p` to its first slot ≥ `slot` (galloping); true when that is
 * `slot`.
 */
function holds(p: Posting, cursors: Int32Array, at: number, slot: number): boolean {
  const { slots } = p;
  let lo = cursors[at] as number;
  if (lo >= slots.length) return false;
  if ((slots[lo] as number) < slot) {
    let step = 1;
    let hi = lo + 1;
    while (hi < slots.length && (slots[hi] as number) < slot) {
      lo = hi;
      step *= 2;
      hi = lo + step;
    }
    hi = Math.min(hi, slots.length);
    // slots[lo] < slot; the first slot ≥ `slot` is in (lo, hi].
    lo += 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((slots[mid] as number) < slot) lo = mid + 1;
      else hi = mid;
    }
  }
  cursors[at] = lo;
  return slots[lo] === slot;
}

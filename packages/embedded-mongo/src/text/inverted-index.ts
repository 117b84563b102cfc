import { TermWalk } from './term-walk.js';

/** One term's documents (slots) and their scores for it, in insertion order. */
export interface Posting {
  readonly term: string;
  slots: number[];
  scores: number[];
}

/** Removed documents tolerated before the postings are rewritten without them. */
const MIN_DEAD_BEFORE_COMPACTION = 10_000;

/** What a search asks of the postings (all terms already analysed into index terms). */
export interface TermQuery {
  /** A document must hold at least one; its score is the sum over the distinct ones it holds. */
  any: readonly string[];
  /** A document holding one of these is left out. */
  none?: readonly string[];
  /** For each group, a document must hold every term of the group (phrases' words). */
  all?: ReadonlyArray<readonly string[]>;
}

/**
 * The index as it was at `freeze`, for a snapshot written across many event-loop turns while
 * documents keep changing (see `InvertedIndex.freeze`).
 */
export interface FrozenPostings {
  /** Slots are below this. */
  readonly slots: number;
  /** The slot document `id` had at the freeze, if it was indexed then. */
  slotOf(id: string): number | undefined;
  /**
   * Every term with the slots and scores it held at the freeze, in slot order (a term may
   * come with no slots when all were added later). Valid until `thaw`.
   */
  postings(): Iterable<Posting>;
}

/** Matching documents with their scores, in parallel arrays (no object per hit). */
export interface TermHits<V> {
  values: V[];
  scores: number[];
}

/**
 * Term → documents with their per-term score. Each document gets a slot number when added;
 * postings hold slots and scores in two packed arrays (about 16 bytes a posting, no object
 * per posting). Removing a document only frees its slot: postings skip dead slots when read,
 * and are rewritten once dead slots outnumber live ones (amortised O(1) per removal).
 */
export class InvertedIndex<V> {
  private postings = new Map<string, Posting>();
  /** Slot → document; undefined once removed. */
  private values: Array<V | undefined> = [];
  /** Document id → slot. */
  private readonly slotOf = new Map<string, number>();
  private dead = 0;
  /** While frozen: each changed document's slot from before its first change (or none). */
  private frozenSlots: Map<string, number | undefined> | undefined;

  get size(): number {
    return this.slotOf.size;
  }

  get termCount(): number {
    return this.postings.size;
  }

  /** Adds (or replaces) document `id` with its score for each of its terms. */
  add(id: string, value: V, termScores: ReadonlyMap<string, number>): void {
    this.remove(id);
    if (termScores.size === 0) return;
    const slot = this.values.length;
    this.values.push(value);
    this.remember(id);
    this.slotOf.set(id, slot);
    for (const [term, score] of termScores) {
      const p = this.postings.get(term);
      if (p) {
        p.slots.push(slot);
        p.scores.push(score);
      } else {
        this.postings.set(term, { term, slots: [slot], scores: [score] });
      }
    }
  }

  /**
   * The posting of `term`, created empty if new: a bulk build resolves each distinct word to its
   * posting once, then adds documents with `addPostings`. Valid until the next removal.
   */
  posting(term: string): Posting {
    let p = this.postings.get(term);
    if (!p) {
      p = { term, slots: [], scores: [] };
      this.postings.set(term, p);
    }
    return p;
  }

  /** Adds a document not held yet, with its score per posting (from `posting`). */
  addPostings(id: string, value: V, scores: ReadonlyMap<Posting, number>): void {
    if (scores.size === 0) return;
    const slot = this.values.length;
    this.values.push(value);
    this.remember(id);
    this.slotOf.set(id, slot);
    for (const [p, score] of scores) {
      p.slots.push(slot);
      p.scores.push(score);
    }
  }

  /** Swaps the value stored for `id` (same terms and scores); false when `id` is not held. */
  update(id: string, value: V): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.values[slot] = value;
    return true;
  }

  remove(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.remember(id);
    this.slotOf.delete(id);
    this.values[slot] = undefined;
    this.dead++;
    this.compactIfWorthIt();
    return true;
  }

  private compactIfWorthIt(): void {
    if (this.frozenSlots) return; // slots must keep their numbers while a snapshot reads them
    if (this.dead >= MIN_DEAD_BEFORE_COMPACTION && this.dead > this.slotOf.size) this.compact();
  }

  private remember(id: string): void {
    const before = this.frozenSlots;
    if (before && !before.has(id)) before.set(id, this.slotOf.get(id));
  }

  /**
   * Starts a consistent read that may span many event-loop turns while documents are added
   * and removed: postings only grow at their end with slots numbered from `values.length` on,
   * so the slots below that limit are the frozen ones; a changed document's old slot is
   * remembered, and compaction (which renumbers) waits for `thaw`.
   */
  freeze(): FrozenPostings {
    const before = new Map<string, number | undefined>();
    this.frozenSlots = before;
    const limit = this.values.length;
    const postings = this.postings;
    return {
      slots: limit,
      slotOf: (id) => (before.has(id) ? before.get(id) : this.slotOf.get(id)),
      *postings() {
        for (const p of postings.values()) {
          let n = p.slots.length;
          while (n > 0 && (p.slots[n - 1] as number) >= limit) n--;
          yield n === p.slots.length
            ? p
            : { term: p.term, slots: p.slots.slice(0, n), scores: p.scores.slice(0, n) };
        }
      },
    };
  }

  thaw(): void {
    this.frozenSlots = undefined;
    this.compactIfWorthIt();
  }

  /**
   * Loads an empty index from a snapshot: `ids[n]`/`values[n]` are document number n, and
   * each posting lists document numbers (ascending) and scores. Slots are the document numbers;
   * documents in no posting hold no term and stay out.
   */
  load(ids: readonly string[], values: readonly V[], postings: Iterable<Posting>): void {
    if (this.values.length > 0) throw new Error('load into an index that is not empty');
    const held = new Uint8Array(values.length);
    for (const p of postings) {
      for (const slot of p.slots) {
        if (!(slot < values.length))
          throw new Error(`text posting for document ${slot} of ${values.length}`);
        held[slot] = 1;
      }
      const existing = this.postings.get(p.term);
      if (existing) {
        for (let i = 0; i < p.slots.length; i++) {
          existing.slots.push(p.slots[i] as number);
          existing.scores.push(p.scores[i] as number);
        }
      } else this.postings.set(p.term, p);
    }
    this.values = new Array<V | undefined>(values.length);
    for (let n = 0; n < values.length; n++) {
      if (held[n] === 0) continue;
      this.values[n] = values[n];
      this.slotOf.set(ids[n] as string, n);
    }
    this.dead = values.length - this.slotOf.size;
  }

  /**
   * Live documents matching `q`, each with the sum of its scores for the distinct `any` terms
   * (MongoDB's text score), in slot order.
   */
  search(q: TermQuery): TermHits<V> {
    const out: TermHits<V> = { values: [], scores: [] };
    this.prepare(q).walk((value, score) => {
      out.values.push(value);
      out.scores.push(score);
    });
    return out;
  }

  /**
   * `q` with its postings looked up, answered by walking the rarest required term (term-walk.ts).
   * A group of `all` requires every one of its terms: a superset of the documents holding the
   * phrase it came from, checked exactly by the caller.
   */
  prepare(q: TermQuery): TermWalk<V> {
    const postings = (terms: readonly string[]) =>
      [...new Set(terms)].flatMap((t) => this.postings.get(t) ?? []);
    const requiredTerms = [...new Set((q.all ?? []).flat())];
    const required = postings(requiredTerms).sort((a, b) => a.slots.length - b.slots.length);
    return new TermWalk(
      this.values,
      required,
      postings(q.any),
      postings(q.none ?? []),
      required.length === requiredTerms.length,
    );
  }

  /** Rewrites every posting without dead slots and renumbers the live documents densely. */
  private compact(): void {
    const renumber = new Int32Array(this.values.length).fill(-1);
    const values: V[] = [];
    for (const [id, slot] of this.slotOf) {
      renumber[slot] = values.length;
      this.slotOf.set(id, values.length);
      values.push(this.values[slot] as V);
    }
    const postings = new Map<string, Posting>();
    for (const [term, p] of this.postings) {
      const kept: Posting = { term, slots: [], scores: [] };
      for (let i = 0; i < p.slots.length; i++) {
        const to = renumber[p.slots[i] as number] as number;
        if (to < 0) continue;
        kept.slots.push(to);
        kept.scores.push(p.scores[i] as number);
      }
      if (kept.slots.length > 0) postings.set(term, kept);
    }
    this.postings = postings;
    this.values = values;
    this.dead = 0;
  }
}

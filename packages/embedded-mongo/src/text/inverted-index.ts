/** One term's documents (slots) and their scores for it, in insertion order. */
interface Posting {
  slots: number[];
  scores: number[];
}

/** Removed documents tolerated before the postings are rewritten without them. */
const MIN_DEAD_BEFORE_COMPACTION = 10_000;

/**
 * Term → documents with their per-term score. Each document gets a slot number when added;
 * postings hold slots and scores in two packed arrays (about 16 bytes a posting, no object
 * per posting). Removing a document only frees its slot: postings skip dead slots when read,
 * and are rewritten once dead slots outnumber live ones (amortised O(1) per removal).
 */
export class InvertedIndex<D> {
  private postings = new Map<string, Posting>();
  private docs: Array<D | undefined> = [];
  private readonly slotOf = new Map<string, number>();
  private dead = 0;

  get size(): number {
    return this.slotOf.size;
  }

  get termCount(): number {
    return this.postings.size;
  }

  /** Adds (or replaces) the document known by `key` with its score for each of its terms. */
  add(key: string, doc: D, termScores: ReadonlyMap<string, number>): void {
    this.remove(key);
    if (termScores.size === 0) return;
    const slot = this.docs.length;
    this.docs.push(doc);
    this.slotOf.set(key, slot);
    for (const [term, score] of termScores) {
      let p = this.postings.get(term);
      if (!p) {
        p = { slots: [], scores: [] };
        this.postings.set(term, p);
      }
      p.slots.push(slot);
      p.scores.push(score);
    }
  }

  remove(key: string): boolean {
    const slot = this.slotOf.get(key);
    if (slot === undefined) return false;
    this.slotOf.delete(key);
    this.docs[slot] = undefined;
    this.dead++;
    if (this.dead >= MIN_DEAD_BEFORE_COMPACTION && this.dead > this.slotOf.size) this.compact();
    return true;
  }

  /**
   * Live documents holding at least one of `terms`, with the sum of their scores for them
   * (each distinct term counted once, as MongoDB does).
   */
  search(terms: Iterable<string>): Map<D, number> {
    const bySlot = new Map<number, number>();
    for (const term of new Set(terms)) {
      const p = this.postings.get(term);
      if (!p) continue;
      for (let i = 0; i < p.slots.length; i++) {
        const slot = p.slots[i] as number;
        if (this.docs[slot] === undefined) continue;
        bySlot.set(slot, (bySlot.get(slot) ?? 0) + (p.scores[i] as number));
      }
    }
    const out = new Map<D, number>();
    for (const [slot, score] of bySlot) out.set(this.docs[slot] as D, score);
    return out;
  }

  /** Live documents holding any of `terms`. */
  containing(terms: Iterable<string>): Set<D> {
    const out = new Set<D>();
    for (const term of new Set(terms)) {
      const p = this.postings.get(term);
      if (!p) continue;
      for (const slot of p.slots) {
        const doc = this.docs[slot];
        if (doc !== undefined) out.add(doc);
      }
    }
    return out;
  }

  /** Rewrites every posting without dead slots and renumbers the live documents densely. */
  private compact(): void {
    const renumber = new Int32Array(this.docs.length).fill(-1);
    const docs: D[] = [];
    for (const [key, slot] of this.slotOf) {
      renumber[slot] = docs.length;
      this.slotOf.set(key, docs.length);
      docs.push(this.docs[slot] as D);
    }
    const postings = new Map<string, Posting>();
    for (const [term, p] of this.postings) {
      const kept: Posting = { slots: [], scores: [] };
      for (let i = 0; i < p.slots.length; i++) {
        const to = renumber[p.slots[i] as number] as number;
        if (to < 0) continue;
        kept.slots.push(to);
        kept.scores.push(p.scores[i] as number);
      }
      if (kept.slots.length > 0) postings.set(term, kept);
    }
    this.postings = postings;
    this.docs = docs;
    this.dead = 0;
  }
}

/**
 * Where message search runs: the MongoDB text index by default, Elasticsearch when configured.
 * Both answer the same question the same way; the service does membership, loading and
 * presenting, so a backend only finds and orders message ids.
 */

/** A position in the result order (score desc, createdAt desc, id desc): the last item seen. */
export interface SearchPosition {
  score: number;
  createdAt: Date;
  id: string;
}

export type SearchHit = SearchPosition & { conversationId: string };

export interface MessageSearch {
  /** Folded words (lib/fold.ts), distinct, at least one: each must be in the message. */
  words: string[];
  /** The caller's conversations at query time (never empty). */
  conversationIds: string[];
  limit: number;
  /** Only hits strictly after this position. */
  after?: SearchPosition;
}

export interface SearchBackend {
  readonly name: 'mongodb' | 'elasticsearch';
  /** Creates what the backend needs (index, mapping); idempotent. */
  ensureReady(): Promise<void>;
  /** Messages with every word, not deleted, in the given conversations, in result order. */
  searchMessages(search: MessageSearch): Promise<SearchHit[]>;
  /**
   * Brings the index in line with every stored message (`npm run cli -- search reindex`),
   * while searches keep being answered; reports progress as it goes.
   */
  reindex(onProgress: (p: ReindexProgress) => void): Promise<ReindexProgress>;
  /** Releases connections of its own (idempotent). */
  close(): Promise<void>;
}

export interface ReindexProgress {
  /** Messages read so far. */
  done: number;
  /** Messages when the run started (an estimate: more may arrive meanwhile). */
  total: number;
}

/** Messages read and written per round trip by a reindex. */
export const REINDEX_BATCH = 1000;

/** Result order: best score first, then newest, then the greater id. Negative: `a` first. */
export function compareHits(a: SearchPosition, b: SearchPosition): number {
  if (a.score !== b.score) return b.score - a.score;
  const t = b.createdAt.getTime() - a.createdAt.getTime();
  if (t !== 0) return t;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

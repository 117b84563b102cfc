import { BSON, Long } from 'bson';
import type { Doc } from './key-index.js';

const DEFAULT_FIRST_BATCH = 101;
/** Leave room for the reply envelope under the 16 MiB BSON limit. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 64 * 1024;
export const CURSOR_IDLE_MS = 10 * 60 * 1000;

interface OpenCursor {
  ns: string;
  docs: Doc[];
  pos: number;
  lastUsed: number;
}

export interface CursorReply {
  id: Long;
  ns: string;
  batch: Doc[];
}

/** Server-side cursors over materialised result arrays; ids are positive safe integers. */
export class CursorStore {
  private readonly open = new Map<number, OpenCursor>();
  private nextId = 1;

  private take(cursor: OpenCursor, batchSize: number): Doc[] {
    const out: Doc[] = [];
    let bytes = 0;
    while (cursor.pos < cursor.docs.length && (batchSize <= 0 || out.length < batchSize)) {
      const doc = cursor.docs[cursor.pos] as Doc;
      bytes += BSON.calculateObjectSize(doc);
      if (out.length > 0 && bytes > MAX_BATCH_BYTES) break;
      out.push(doc);
      cursor.pos++;
    }
    return out;
  }

  /** Returns the first batch; keeps a cursor open only when documents remain. */
  create(ns: string, docs: Doc[], batchSize: number | undefined, singleBatch = false): CursorReply {
    const cursor: OpenCursor = { ns, docs, pos: 0, lastUsed: Date.now() };
    const batch = this.take(cursor, batchSize ?? DEFAULT_FIRST_BATCH);
    if (singleBatch || cursor.pos >= docs.length) return { id: Long.ZERO, ns, batch };
    const id = this.nextId++;
    this.open.set(id, cursor);
    return { id: Long.fromNumber(id), ns, batch };
  }

  getMore(id: number, batchSize: number | undefined): CursorReply | undefined {
    const cursor = this.open.get(id);
    if (!cursor) return undefined;
    cursor.lastUsed = Date.now();
    const batch = this.take(cursor, batchSize ?? 0);
    const done = cursor.pos >= cursor.docs.length;
    if (done) this.open.delete(id);
    return { id: done ? Long.ZERO : Long.fromNumber(id), ns: cursor.ns, batch };
  }

  nsOf(id: number): string | undefined {
    return this.open.get(id)?.ns;
  }

  kill(id: number): boolean {
    return this.open.delete(id);
  }

  /** Drops cursors idle for longer than MongoDB's default 10 minutes. */
  expire(now = Date.now()): void {
    for (const [id, cursor] of this.open) {
      if (now - cursor.lastUsed > CURSOR_IDLE_MS) this.open.delete(id);
    }
  }

  get size(): number {
    return this.open.size;
  }
}

import { fdatasync, writev, write } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BSON } from 'bson';
import { decodeDocument } from './fast-bson.js';
import { frameParts, readFrames, type FrameScan } from './frames.js';
import type { Change } from './store.js';

/**
 * The write-ahead journal: one frame per command that changed something, holding that
 * command's changes as consecutive BSON documents. A frame is all-or-nothing at replay (its
 * checksum covers it whole), so a command is never half-applied after a crash.
 */

/** Encodes one command's changes as one journal record (a frame). */
export function encodeRecord(changes: Change[]): Uint8Array[] {
  return frameParts(changes.map((c) => BSON.serialize(c)));
}

/** The changes of one record, in order. */
export function decodeRecord(payload: Buffer): Change[] {
  const changes: Change[] = [];
  for (let pos = 0; pos < payload.length;) {
    changes.push(decodeDocument(payload, pos) as Change);
    pos += payload.readInt32LE(pos);
  }
  return changes;
}

/** Replays a journal file's valid records; the caller cuts the file at `validEnd`. */
export async function readJournal(
  path: string,
  onRecord: (changes: Change[]) => void,
): Promise<FrameScan> {
  const fh = await open(path, 'r');
  try {
    return await readFrames(fh, 0, ({ payload }) => onRecord(decodeRecord(payload)));
  } finally {
    await fh.close();
  }
}

const fdatasyncAsync = promisify(fdatasync);

function writevAsync(fd: number, parts: Uint8Array[]): Promise<number> {
  return new Promise((resolve, reject) =>
    writev(fd, parts, (err, written) => (err ? reject(err) : resolve(written))),
  );
}

function writeAsync(fd: number, buf: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) =>
    write(fd, buf, (err, written) => (err ? reject(err) : resolve(written))),
  );
}

export interface JournalFile {
  gen: number;
  /** Opened for appending. */
  fd: number;
  /** Bytes appended (queued or written). */
  size: number;
}

interface Pending {
  file: JournalFile;
  parts: Uint8Array[];
}

type Waiter = { resolve: () => void; reject: (err: Error) => void };

/** Longest a group waits for writers that were just acknowledged to send their next write. */
const MAX_GATHER_MS = 2;

/**
 * Group commit: records appended while a write + fdatasync is in flight are written together by
 * the next one, so any number of concurrent writers share one sync. Each append resolves once
 * its record is on disk. Files are written strictly in order, so a later journal file holds
 * data only if every earlier one is complete.
 * After an I/O error the journal is failed: that append and every later one reject with it.
 */
export class GroupCommitWriter {
  private queue: Pending[] = [];
  private waiters: Waiter[] = [];
  private draining: Promise<void> | undefined;
  private failure: Error | undefined;
  /** Moving average of one write + sync, in ms. */
  private syncMs = 0;
  private gathering: { target: number; done: () => void } | undefined;

  get failed(): Error | undefined {
    return this.failure;
  }

  append(file: JournalFile, parts: Uint8Array[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    for (const p of parts) file.size += p.length;
    this.queue.push({ file, parts });
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.draining ??= this.drain();
    if (this.gathering && this.queue.length >= this.gathering.target) this.gathering.done();
    return done;
  }

  /** Resolves once everything appended before this call is on disk; rejects if that failed. */
  barrier(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.draining && this.queue.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.draining ??= this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    // Let the commands already read from sockets in this turn join the first group.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queue.length > 0 || this.waiters.length > 0) {
      const batch = this.queue;
      const waiters = this.waiters;
      this.queue = [];
      this.waiters = [];
      const started = performance.now();
      try {
        let i = 0;
        while (i < batch.length) {
          const file = (batch[i] as Pending).file;
          const parts: Uint8Array[] = [];
          for (; i < batch.length && (batch[i] as Pending).file === file; i++) {
            parts.push(...(batch[i] as Pending).parts);
          }
          await writeAll(file.fd, parts);
          await fdatasyncAsync(file.fd);
        }
        this.syncMs = this.syncMs * 0.8 + (performance.now() - started) * 0.2;
        for (const w of waiters) w.resolve();
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
        const failed = this.failure;
        for (const w of [...waiters, ...this.waiters]) w.reject(failed);
        this.queue = [];
        this.waiters = [];
      }
      await this.gather(waiters.length);
    }
    this.draining = undefined;
  }

  /**
   * Writers just acknowledged usually send their next write within a round trip. Waiting for
   * them (at most half a sync, and MAX_GATHER_MS) lets them join the next group; otherwise
   * concurrent writers split into two halves that alternate, each waiting for two syncs.
   */
  private async gather(acknowledged: number): Promise<void> {
    const target = this.queue.length + acknowledged;
    const wait = Math.min(MAX_GATHER_MS, this.syncMs / 2);
    if (this.failure || acknowledged === 0 || wait < 0.1) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.gathering?.done(), wait);
      this.gathering = {
        target,
        done: () => {
          clearTimeout(timer);
          this.gathering = undefined;
          resolve();
        },
      };
    });
  }
}

/** Appends `parts` at the end of the file, retrying short writes. */
async function writeAll(fd: number, parts: Uint8Array[]): Promise<void> {
  let rest = parts;
  // writev has an iovec limit (IOV_MAX, 1024 on Linux): go in slices below it.
  while (rest.length > 0) {
    const slice = rest.slice(0, 512);
    rest = rest.slice(512);
    let total = 0;
    for (const p of slice) total += p.length;
    const written = await writevAsync(fd, slice);
    if (written === total) continue;
    let left = Buffer.concat(slice).subarray(written);
    while (left.length > 0) left = left.subarray(await writeAsync(fd, left));
  }
}

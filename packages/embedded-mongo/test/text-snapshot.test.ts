import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Collection } from '../src/collection.js';
import { frame, readFrames } from '../src/frames.js';
import { loadSnapshot, writeSnapshot } from '../src/snapshot.js';
import { Store } from '../src/store.js';
import { sortTogether } from '../src/text/posting-records.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
const QUERIES = [...WORDS, 'alpha beta', 'fresh', 'changed'];

function text(i: number): string {
  return Array.from({ length: 1 + (i % 5) }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length])
    .join(' ')
    .concat(i % 11 === 0 ? ' alpha alpha' : '');
}

/** Every query's hits as `_id → score`, from the collection's text index. */
function searches(coll: Collection): Record<string, Record<string, number>> {
  const index = coll.textIndex;
  assert.ok(index, 'the collection has its text index');
  const out: Record<string, Record<string, number>> = {};
  for (const search of QUERIES) {
    const hits = index.search({ search, caseSensitive: false, diacriticSensitive: false });
    const byId: Record<string, number> = {};
    hits.docs.forEach((d, i) => (byId[String(d._id)] = hits.scores[i] as number));
    out[search] = byId;
  }
  return out;
}

/**
 * The snapshot's text postings, without the engine around them: a snapshot written from a
 * frozen collection holds the text index exactly as it was at the freeze, however the
 * collection changed while it was written (removals, text changes, new documents, and the
 * compaction those removals would trigger), and loads back without tokenising.
 */
void describe('engine: text index in snapshots', () => {
  void it('writes the postings as frozen and loads them back with the same hits and scores', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'embedded-text-snapshot-'));
    dirs.push(dir);
    const store = new Store();
    const coll = store.ensureCollection('d', 'notes');
    coll.addIndex({
      key: { _fts: 'text', _ftsx: 1 },
      name: 'body_text',
      weights: { body: 2, title: 1 },
      default_language: 'english',
      textIndexVersion: 3,
    });
    const TOTAL = 24_000;
    for (let i = 0; i < TOTAL; i++) {
      // Ids inserted out of _id order, so slots and document numbers differ.
      const id = (i * 7_919) % TOTAL;
      coll.insert({ _id: id, body: text(i), ...(i % 3 === 0 ? { title: WORDS[i % 8] } : {}) });
    }
    for (let i = 0; i < 300; i++) coll.insert({ _id: `plain-${i}`, other: i });
    const atFreeze = searches(coll);

    const frozen = coll.freeze();
    // While the snapshot is pending: more removals than live documents (compaction would
    // renumber the slots), text changes, an update that keeps the text, new documents.
    for (let id = 0; id < 14_000; id++) coll.remove(coll.get(id) as Record<string, unknown>);
    for (let id = 14_000; id < 15_000; id++) {
      const old = coll.get(id) as Record<string, unknown>;
      coll.replace(old, { ...old, body: 'changed fresh' });
    }
    const kept = coll.get(20_000) as Record<string, unknown>;
    coll.replace(kept, { ...kept, seen: true });
    for (let i = 0; i < 500; i++) coll.insert({ _id: `new-${i}`, body: 'fresh alpha' });
    const afterChanges = searches(coll);
    assert.notDeepEqual(afterChanges, atFreeze, 'the changes moved the hits');

    const file = path.join(dir, 'snapshot-0000000001.snap');
    await writeSnapshot(file, [frozen]);
    coll.thaw();
    assert.deepEqual(searches(coll), afterChanges, 'the live index is unchanged by the snapshot');

    const loaded = new Store();
    await loadSnapshot(file, loaded);
    const back = loaded.collection('d', 'notes');
    assert.ok(back);
    assert.deepEqual(searches(back), atFreeze);

    // The loaded index keeps working: remove, change and add documents.
    back.remove(back.get(20_001) as Record<string, unknown>);
    const changed = back.get(20_002) as Record<string, unknown>;
    back.replace(changed, { ...changed, body: 'fresh' });
    back.insert({ _id: 'late', body: 'changed alpha' });
    const hits = searches(back);
    assert.equal(hits.alpha?.['20001'], undefined);
    assert.ok((hits.fresh?.['20002'] ?? 0) > 0);
    assert.ok((hits.changed?.late ?? 0) > 0);
  });

  void it('loads a version-1 snapshot (no postings) by rebuilding its text index', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'embedded-text-snapshot-'));
    dirs.push(dir);
    const store = new Store();
    const coll = store.ensureCollection('d', 'notes');
    coll.addIndex({
      key: { _fts: 'text', _ftsx: 1 },
      name: 'body_text',
      weights: { body: 1 },
      default_language: 'none',
      textIndexVersion: 3,
    });
    for (let i = 0; i < 500; i++) coll.insert({ _id: i, body: text(i) });
    const file = path.join(dir, 'snapshot-0000000001.snap');
    await writeSnapshot(file, [coll.freeze()]);
    coll.thaw();
    // The same file as version 1 wrote it: the old header, no TEXT frames (kind 5).
    const frames: Buffer[] = [];
    const fh = await open(file, 'r');
    await readFrames(fh, 0, ({ payload }) => {
      if (payload[0] === 0) frames.push(frame(Buffer.from('\0parley-embedded-mongo snapshot 1')));
      else if (payload[0] !== 5) frames.push(frame(payload));
    });
    await fh.close();
    const v1 = path.join(dir, 'snapshot-0000000002.snap');
    await writeFile(v1, Buffer.concat(frames));

    const loaded = new Store();
    await loadSnapshot(v1, loaded);
    assert.deepEqual(searches(loaded.collection('d', 'notes') as Collection), searches(coll));
  });

  void it('sorts a posting of 200,000 documents out of order (no argument spreading)', () => {
    const docs = Array.from({ length: 200_000 }, (_, i) => (i * 7_919) % 200_000);
    const scores = docs.map((d) => d / 2);
    sortTogether(docs, scores);
    assert.ok(docs.every((d, i) => d === i && scores[i] === d / 2));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ObjectId } from 'bson';
import { compareValues } from '../src/bson-values.js';
import { KeyIndex, type Doc } from '../src/key-index.js';
import { encodeEntry } from '../src/sort-key.js';

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    return x / 2 ** 32;
  };
}

const oids = Array.from({ length: 6 }, (_, i) => new ObjectId(i.toString(16).padStart(24, 'f')));
const values: unknown[] = [
  undefined,
  null,
  0,
  -0,
  1,
  -1,
  2.5,
  -2.5,
  1e300,
  -1e300,
  Number.MAX_SAFE_INTEGER,
  Number.NEGATIVE_INFINITY,
  Number.POSITIVE_INFINITY,
  '',
  'a',
  'ab',
  'a\0',
  'a\0b',
  'a\u0001',
  'b',
  'é',
  '中文',
  '\uffff',
  true,
  false,
  new Date(0),
  new Date(-1),
  new Date(1_700_000_000_000),
  ...oids,
];

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** The engine's entry order: keys field by field in their direction, then _id ascending. */
function compare(a: unknown[], b: unknown[], dirs: number[], idA: unknown, idB: unknown): number {
  for (let i = 0; i < dirs.length; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c * (dirs[i] as number);
  }
  return compareValues(idA, idB);
}

void describe('engine: sort keys (bulk index order)', () => {
  void it('orders encodings exactly as the engine compares entries, in both directions', () => {
    const next = random(7);
    const pick = (): unknown => values[Math.floor(next() * values.length)];
    const ids: unknown[] = [...oids, 'x', 'y', 3, 4];
    for (const dirs of [[1], [-1], [1, -1], [-1, 1], [1, 1, -1]]) {
      for (let n = 0; n < 3_000; n++) {
        const a = dirs.map(pick);
        const b = dirs.map(pick);
        const idA = ids[Math.floor(next() * ids.length)];
        const idB = ids[Math.floor(next() * ids.length)];
        const ea = encodeEntry(a, dirs, idA) as string;
        const eb = encodeEntry(b, dirs, idB) as string;
        const expected = sign(compare(a, b, dirs, idA, idB));
        const got = ea < eb ? -1 : ea > eb ? 1 : 0;
        assert.equal(got, expected, `${String(a)} vs ${String(b)} (dirs ${dirs.join(',')})`);
      }
    }
  });

  void it('leaves other types to the general comparison', () => {
    assert.equal(encodeEntry([{ a: 1 }], [1], 1), undefined);
    assert.equal(encodeEntry([[1, 2]], [1], 1), undefined);
    assert.equal(encodeEntry([Number.NaN], [1], 1), undefined);
    assert.equal(encodeEntry([1], [1], { id: 1 }), undefined);
  });

  void it('builds the same index with and without encodable keys', () => {
    const next = random(11);
    const docs: Doc[] = Array.from({ length: 2_000 }, (_, i) => ({
      _id: i % 3 === 0 ? new ObjectId() : i,
      a: values[Math.floor(next() * values.length)],
      b: values[Math.floor(next() * values.length)],
    }));
    const spec = { key: { a: 1, b: -1 }, name: 'a_1_b_-1' };
    const fast = new KeyIndex(spec);
    fast.build(docs);
    // One document whose key has no encoding sends the whole build to the comparison sort.
    const slow = new KeyIndex(spec);
    slow.build([...docs, { _id: 'object', a: { nested: true } }]);
    const order = (index: KeyIndex): unknown[] =>
      [...index.entries].filter((e) => e.id !== 'object').map((e) => e.ik);
    assert.deepEqual(order(fast), order(slow));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ObjectId } from 'bson';
import { update as mingoUpdate } from 'mingo';
import { cloneDeep, compareValues, isPlainObject } from '../src/bson-values.js';
import { pathsOverlap, type Doc } from '../src/key-index.js';
import { compileFilter, compileQuery } from '../src/matcher.js';
import { applyUpdate } from '../src/update-ops.js';

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    return x / 2 ** 32;
  };
}

const oid = new ObjectId('0000000000000000000000aa');
const values: unknown[] = [
  undefined,
  null,
  0,
  1,
  2.5,
  -1,
  'a',
  'b',
  '1',
  true,
  false,
  new Date(1000),
  new Date(2000),
  oid,
  new ObjectId('0000000000000000000000bb'),
  [1, 'a'],
  [],
  { x: 1 },
];
const fields = ['a', 'b', 'c'];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)] as T;
}

function randomDoc(next: () => number): Doc {
  const doc: Doc = { _id: 1 };
  for (const f of fields) {
    const v = pick(next, values);
    if (v !== undefined) doc[f] = cloneDeep(v);
  }
  return doc;
}

const SCALARS = values.filter(
  (v) => v !== undefined && !Array.isArray(v) && v?.constructor !== Object,
);
const OPS = ['$eq', '$ne', '$lt', '$lte', '$gt', '$gte', '$in'];

function randomFilter(next: () => number): Doc {
  const filter: Doc = {};
  for (const f of fields) {
    if (next() < 0.4) continue;
    if (next() < 0.3) {
      filter[f] = pick(next, SCALARS);
      continue;
    }
    const cond: Doc = {};
    for (let i = 0; i < 1 + Math.floor(next() * 2); i++) {
      const op = pick(next, OPS);
      cond[op] = op === '$in' ? [pick(next, SCALARS), pick(next, SCALARS)] : pick(next, SCALARS);
    }
    filter[f] = cond;
  }
  return filter;
}

/**
 * Every path whose value differs between `before` and `after` overlaps a `touched` path, so an
 * index reading none of them may keep its keys. Below a path that only leads to a touched one,
 * the check goes on field by field.
 */
function assertOnlyTouched(before: Doc, after: Doc, touched: readonly string[], what: string) {
  const walk = (a: unknown, b: unknown, prefix: string) => {
    for (const k of new Set([...Object.keys(a as Doc), ...Object.keys(b as Doc)])) {
      const path = prefix + k;
      const x = (a as Doc)[k];
      const y = (b as Doc)[k];
      if (touched.some((t) => t === path || path.startsWith(t + '.'))) continue;
      if (touched.some((t) => pathsOverlap(t, path))) {
        if (isPlainObject(x) && isPlainObject(y)) walk(x, y, path + '.');
        continue;
      }
      assert.ok(x === y || compareValues(x, y) === 0, `${path} changed untouched: ${what}`);
    }
  };
  walk(before, after, '');
}

void describe('engine fast paths agree with mingo', () => {
  void it('compileFilter on top-level scalar filters', () => {
    const next = random(7);
    for (let n = 0; n < 3000; n++) {
      const filter = randomFilter(next);
      const docs = Array.from({ length: 8 }, () => randomDoc(next));
      const fast = compileFilter(filter);
      const query = compileQuery(filter);
      for (const doc of docs) {
        assert.equal(
          fast(doc),
          query.test(doc),
          `${JSON.stringify(filter)} on ${JSON.stringify(doc)}`,
        );
      }
    }
  });

  void it('applyUpdate with $set, $unset, $inc, $min, $max and appending $push', () => {
    const next = random(11);
    const ops = ['$set', '$unset', '$inc', '$min', '$max', '$push'];
    let fastRuns = 0;
    for (let n = 0; n < 3000; n++) {
      const doc = randomDoc(next);
      const update: Doc = {};
      for (const f of fields) {
        if (next() < 0.3) continue;
        const op = pick(next, ops);
        let value: unknown = pick(next, SCALARS);
        if (op === '$inc') value = pick(next, [1, -2, 0.5]);
        if (op === '$push' && next() < 0.5) value = { $each: [pick(next, SCALARS), 'z'] };
        const path = next() < 0.2 ? `${f}.sub` : f;
        ((update[op] ??= {}) as Doc)[path] = value;
      }
      if (Object.keys(update).length === 0) continue;
      let expected: { doc: Doc; changed: boolean } | Error;
      try {
        const copy = cloneDeep(doc);
        const changed = mingoUpdate(copy, update).length > 0;
        expected = { doc: copy, changed };
      } catch (error) {
        expected = error as Error;
      }
      const actual = (() => {
        try {
          return applyUpdate(doc, update, { query: {}, isInsert: false });
        } catch (error) {
          return error as Error;
        }
      })();
      const what = `${JSON.stringify(update)} on ${JSON.stringify(doc)}`;
      if (expected instanceof Error) {
        assert.ok(actual instanceof Error, what);
        continue;
      }
      assert.ok(!(actual instanceof Error), what);
      const { touched, ...outcome } = actual;
      assert.deepEqual(outcome, expected, what);
      if (touched) {
        fastRuns++;
        assertOnlyTouched(doc, actual.doc, touched, what);
      }
    }
    // The fast path (the only one that reports touched paths) took a good share of them.
    assert.ok(fastRuns > 400, `fast path taken ${fastRuns} times`);
  });
});

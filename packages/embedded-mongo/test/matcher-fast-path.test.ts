import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ObjectId } from 'bson';
import { compileFilter, compileQuery } from '../src/matcher.js';
import type { Doc } from '../src/key-index.js';

/**
 * compileFilter tests plain scalar filters without mingo (matcher.ts `scalarFilter`). Its
 * answer must be mingo's for every document: every filter below against every document, both
 * ways.
 */
describe('compileFilter scalar fast path', () => {
  const [a, b] = [new ObjectId('a'.repeat(24)), new ObjectId('b'.repeat(24))];
  const [early, late] = [new Date('2026-01-01T00:00:00Z'), new Date('2026-06-01T00:00:00Z')];
  const values: unknown[] = [
    a,
    b,
    early,
    late,
    new Date(Number.NaN),
    0,
    -0,
    1,
    2.5,
    Number.NaN,
    '1',
    'a',
    '',
    true,
    false,
    null,
    undefined,
    [],
    [early],
    [1, 2.5],
    [a],
    { x: 1 },
  ];
  const docs: Doc[] = [{}];
  for (const v of values) {
    docs.push({ f: v });
    docs.push({ f: v, g: early });
    docs.push({ f: v, g: late });
  }
  const scalars = [a, early, late, 0, 1, 2.5, '1', 'a', true, false];
  const filters: Doc[] = [];
  for (const v of scalars) {
    filters.push({ f: v }, { f: { $eq: v } }, { f: v, g: { $lte: late } });
    for (const op of ['$lt', '$lte', '$gt', '$gte']) {
      filters.push({ f: { [op]: v } }, { f: { [op]: v, $gt: -1 } });
    }
  }
  // Not for the fast path: mingo decides these wholly.
  filters.push({ f: null }, { 'f.x': 1 }, { f: { $ne: 1 } }, { $or: [{ f: 1 }] }, { f: [1, 2.5] });

  it('answers exactly as mingo for every filter and document', () => {
    let compared = 0;
    for (const filter of filters) {
      const fast = compileFilter(filter);
      const mingo = compileQuery(filter);
      for (const doc of docs) {
        assert.equal(
          fast(doc),
          mingo.test(doc),
          `filter ${JSON.stringify(filter)} on ${JSON.stringify(doc)}`,
        );
        compared += 1;
      }
    }
    assert.ok(compared > 1000);
  });

  it('the hot update shape matches by id and date', () => {
    const matches = compileFilter({ _id: a, lastMessageAt: { $lte: late } });
    assert.equal(matches({ _id: a, lastMessageAt: early }), true);
    assert.equal(matches({ _id: a, lastMessageAt: late }), true);
    assert.equal(matches({ _id: b, lastMessageAt: early }), false);
    assert.equal(matches({ _id: a, lastMessageAt: new Date(late.getTime() + 1) }), false);
  });
});

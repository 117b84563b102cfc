import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MicroBatcher } from '../../src/lib/micro-batcher.js';

describe('MicroBatcher', () => {
  test('flushes a full batch at once and the rest after the wait, with per-item outcomes', async () => {
    const batches: number[][] = [];
    const batcher = new MicroBatcher<number>(
      (items) => {
        batches.push(items);
        return Promise.resolve(items.map((n) => (n % 2 ? new Error(`odd ${n}`) : null)));
      },
      { maxSize: 3, maxWaitMs: 5 },
    );
    const outcomes = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => batcher.add(n)));
    assert.deepEqual(batches, [
      [1, 2, 3],
      [4, 5],
    ]);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as Error).message)),
      ['odd 1', 'ok', 'odd 3', 'ok', 'odd 5'],
    );
  });

  test('a batch that throws rejects every item in it', async () => {
    const batcher = new MicroBatcher<number>(() => Promise.reject(new Error('down')), {
      maxSize: 10,
      maxWaitMs: 1,
    });
    const outcomes = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    assert.deepEqual(
      outcomes.map((o) => o.status === 'rejected' && (o.reason as Error).message),
      ['down', 'down'],
    );
  });

  test('an item aborted before its batch is flushed leaves it; after the flush it keeps its outcome', async () => {
    const batches: string[][] = [];
    let finish: (outcomes: (Error | null)[]) => void = () => undefined;
    const batcher = new MicroBatcher<string>(
      (items) => {
        batches.push(items);
        return new Promise((resolve) => (finish = resolve));
      },
      { maxSize: 3, maxWaitMs: 60_000 },
    );
    const early = new AbortController();
    const late = new AbortController();
    const withdrawn = batcher.add('withdrawn', early.signal);
    early.abort(new Error('channel closed before ack'));
    await assert.rejects(withdrawn, /channel closed before ack/);
    const kept = ['a', 'b', 'c'].map((item) => batcher.add(item, late.signal));
    assert.deepEqual(batches, [['a', 'b', 'c']], 'a full batch without the withdrawn item');
    late.abort(new Error('too late'));
    finish([null, new Error('b failed'), null]);
    const outcomes = await Promise.allSettled(kept);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as Error).message)),
      ['ok', 'b failed', 'ok'],
    );
    await assert.rejects(batcher.add('x', late.signal), /too late/, 'already aborted: refused');
  });

  test('maxWaitMs 0: what is added in one turn goes together; each add resolves with its own result', async () => {
    const batches: number[][] = [];
    const batcher = new MicroBatcher<number, string>(
      (items) => {
        batches.push(items);
        return Promise.resolve(items.map((n) => (n < 0 ? new Error(`negative ${n}`) : `#${n}`)));
      },
      { maxSize: 100, maxWaitMs: 0 },
    );
    const first = [1, -2, 3].map((n) => batcher.add(n));
    const outcomes = await Promise.allSettled(first);
    const later = await batcher.add(4);
    assert.deepEqual(batches, [[1, -2, 3], [4]]);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
      ['#1', 'negative -2', '#3'],
    );
    assert.equal(later, '#4');
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BoundedMap } from '../../src/lib/bounded-map.js';

describe('BoundedMap', () => {
  test('keeps at most max entries, dropping the oldest set', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('a', 3); // a is now newer than b
    map.set('c', 4);
    assert.deepEqual(
      [...map],
      [
        ['a', 3],
        ['c', 4],
      ],
    );
    assert.equal(map.size, 2);
  });
});

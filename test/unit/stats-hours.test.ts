import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hourOf } from '../../src/modules/stats/stats.consumer.js';

test("an event's hour is its UTC hour, whatever zone its time was written in", () => {
  assert.equal(hourOf('2026-12-01T09:59:59.999Z'), '2026-12-01T09');
  assert.equal(hourOf('2026-12-01T09:00:00Z'), '2026-12-01T09');
  // A replayed or foreign event with an offset: counted in the hour it was in UTC.
  assert.equal(hourOf('2026-12-02T01:30:00+02:00'), '2026-12-01T23');
  assert.equal(hourOf('2026-12-01T23:30:00.000-01:00'), '2026-12-02T00');
});

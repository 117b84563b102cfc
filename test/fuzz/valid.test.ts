import { after, before, describe, test } from 'node:test';
import { runsFor, startFuzzTarget, type FuzzTarget } from './target.js';

/**
 * The fuzzer's other half (issue 20): requests and events whose every part matches the document
 * and the contract — boundaries, awkward text, the server's own ids — which may be refused
 * (404, 403, 409) but never with a 5xx, and whose success bodies match the documented shapes.
 * They change state, so they run apart from refused.test.ts and its database snapshots.
 */
const BATCH = 25;
/** A third of the budget (refused.test.ts runs the rest). */
const SHARE = 0.34;

describe('fuzz: valid-shaped input on every route and socket event', () => {
  let target: FuzzTarget;
  before(async () => void (target = await startFuzzTarget()));
  after(() => target?.close());

  test('never a 5xx, and the documented shapes', async () => {
    await target.everyBatch('valid', BATCH, runsFor(SHARE, BATCH));
  });

  test('no one else was disconnected, nothing was logged as an error', async (t) => {
    await target.finalChecks(t, 'valid-shaped input', SHARE);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DomainEvent } from '../../src/contracts/events.js';
import { isolatedEnv, startTestApp } from '../support/app.js';
import { tapEvents } from '../support/events.js';
import { directConversation, registerUser } from '../support/http.js';
import { MessagesRepository } from '../../src/modules/messages/messages.repository.js';
import { startRoleProcess, type RoleProcess } from '../support/processes.js';
import { eventually } from '../support/sockets.js';

const ROUNDS = 3;
/** More rounds only while no kill has landed mid-backlog yet (a starved test process sees late). */
const MAX_ROUNDS = 8;
const PER_ROUND = 1500;

describe('domain events survive kill -9 of the relay (SPEC §10)', () => {
  test('workers killed while publishing, repeatedly: every event once, none missing, none twice', async () => {
    const env = await isolatedEnv({
      EVENTS_RELAY_POLL_MS: '50',
      EVENTS_RELAY_LEASE_MS: '1000',
      // Small batches: a round's backlog takes 60 of them, so a kill that follows the first events
      // seen lands before the backlog is through even when the machine is idle and the relay fast
      // (with 1,000-event batches an idle run published the whole round before the kill; with
      // 100, once recording a batch got cheaper, 2 runs in 10 did so in all eight rounds).
      EVENTS_RELAY_BATCH: '25',
    });
    // The api writes (and owns no relay); the relay runs in worker processes that get killed.
    const api = await startTestApp({ ...env, ROLE: 'api' });
    const tap = await tapEvents(env);
    const alice = await registerUser(api.url);
    const bob = await registerUser(api.url);
    const direct = await directConversation(api.url, alice, bob);
    // Written as the send route writes them (same repository), fast enough for large backlogs.
    const messages = new MessagesRepository(api.mongo.db);
    const received: DomainEvent[] = [];
    const sent: string[] = [];
    let killedMidBatch = 0;

    let worker: RoleProcess | null = null;
    for (
      let round = 0;
      round < ROUNDS || (killedMidBatch === 0 && round < MAX_ROUNDS);
      round += 1
    ) {
      // A backlog written while no relay runs, so the next one publishes it in one large batch.
      for (let i = 0; i < PER_ROUND; i += 100) {
        const batch = Array.from({ length: 100 }, (_, j) =>
          messages.insertOnce({
            conversationId: direct,
            senderId: alice.user.id,
            content: `r${round} m${i + j}`,
            type: 'text',
          }),
        );
        sent.push(...(await Promise.all(batch)).map((r) => r.message.id));
      }
      const before = received.length;
      worker = startRoleProcess('worker', env);
      // Kill it as soon as the tap sees its first events: it is then mid-batch (published,
      // some confirmed, nothing cleared yet) or just between publish and clear.
      await eventually(
        async () => {
          received.push(...(await tap.drain()));
          return received.length > before;
        },
        30_000,
        () => Promise.resolve(`the worker publishing; its stderr: ${worker?.stderr() ?? ''}`),
        5,
      );
      await worker.kill();
      if (received.length - before < PER_ROUND) killedMidBatch += 1;
    }
    worker = startRoleProcess('worker', env);
    received.push(...(await tap.take()));
    await worker.stop();

    const ids = received.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no event published twice');
    const created = received.filter((e) => e.type === 'message.created').map((e) => e.key);
    assert.deepEqual(created.sort(), [...sent].sort(), 'every message.created exactly once');
    assert.equal(received.filter((e) => e.type === 'user.registered').length, 2);
    assert.equal(received.filter((e) => e.type === 'conversation.created').length, 1);
    assert.ok(killedMidBatch > 0, 'at least one kill landed before a batch was fully seen');
  });
});

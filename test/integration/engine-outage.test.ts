import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { newClientMessageId, ParleyError } from '@parley/client';
import { startEmbeddedMongo, type EmbeddedMongo } from '@parley/embedded-mongo';
import { atEnd, isolatedEnv, startTestApp } from '../support/app.js';
import { clientAs, directConversation, registerUser } from '../support/http.js';
import { freePort } from '../support/ports.js';

// Found by `npm run chaos`: a send while the database restarted was answered `internal`, which
// the SDK takes as final and drops from its outbox, although resending it is safe.
// It also hung on a busy machine (about one run in three) until the engine sent a
// topologyVersion: the driver's monitor then stayed stuck on a socket that closed under it, so
// the app never reached the restarted engine (docs/RELIABILITY.md, finding 1).
describe('the database restarting under a send', () => {
  test('the send is answered `unavailable`, and the SDK outbox stores it once the engine is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'parley-engine-outage-'));
    const port = await freePort();
    let engine: EmbeddedMongo = await startEmbeddedMongo({ port, dataDir: dir });
    atEnd(async () => {
      await engine.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const app = await startTestApp(await isolatedEnv({ MONGODB_URI: engine.uri }));
    const [alice, bob] = [await registerUser(app.url), await registerUser(app.url)];
    const conversationId = await directConversation(app.url, alice, bob);
    const client = await clientAs(app.url, alice);
    const socket = client.connect({ transports: ['websocket'], ackTimeoutMs: 30_000 });
    await socket.whenConnected();
    const dropped: string[] = [];
    socket.on('sendFailed', ({ error }) => dropped.push(error.code));

    await engine.stop();
    // Emitted first, so its first attempt is answered before the probe below.
    const sending = socket.send(conversationId, 'sent while the engine is down');
    const refusal = await socket
      .request('send_message', {
        conversationId,
        content: 'probe',
        clientMessageId: newClientMessageId(),
      })
      .then(
        () => null,
        (error: unknown) => error,
      );
    assert.ok(refusal instanceof ParleyError, 'the probe is refused while the engine is down');
    assert.equal(refusal.code, 'unavailable');

    engine = await startEmbeddedMongo({ port, dataDir: dir });
    const message = await sending;
    assert.deepEqual(dropped, []);
    const history = await client.api.history({ params: { id: conversationId } });
    const copies = history.items.filter((m) => m.content === 'sent while the engine is down');
    assert.deepEqual(
      copies.map((m) => m.id),
      [message.id],
    );
    client.close();
  });
});

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { http, registerUser } from '../support/http.js';
import { connectSocket, eventually, nextEvent, record, request } from '../support/sockets.js';
import {
  directConversation,
  reconnected,
  skipWithoutNginx,
  startTestCluster,
  syncSince,
  type MessageBody,
  type TestCluster,
} from './support.js';

// Presence timing through real configuration: an instance silent for 2 s counts as dead (the
// default is 30 s, still "within a minute"); the test allows the full minute either way.
const PRESENCE = { PRESENCE_HEARTBEAT_MS: '500', PRESENCE_STALE_MS: '2000' };

describe('an api instance killed with SIGKILL', { skip: skipWithoutNginx }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ instances: 2 }, PRESENCE);
  });

  test('its users go offline, the survivor keeps working, Nginx clients reconnect and catch up', async () => {
    const [alice, carol, dave] = [
      await registerUser(cluster.url),
      await registerUser(cluster.url),
      await registerUser(cluster.url),
    ];
    const aliceDave = await directConversation(cluster.url, alice, dave);
    await directConversation(cluster.url, carol, dave);

    // Alice comes through Nginx and reconnects on her own; the victim is wherever Nginx sent her.
    const aliceSocket = await connectSocket(cluster.url, alice.accessToken, { reconnection: true });
    const [victim = -1] = await cluster.heldBy(alice.user.id);
    const survivor = 1 - victim;
    const carolSocket = await connectSocket(cluster.apis[victim]?.url ?? '', carol.accessToken);
    const daveSocket = await connectSocket(cluster.apis[survivor]?.url ?? '', dave.accessToken);
    const aliceGot = record(aliceSocket, 'message_received');
    let daveDisconnected = false;
    daveSocket.on('disconnect', () => (daveDisconnected = true));

    const sendToAlice = async (content: string) => {
      const res = await http<MessageBody>(
        cluster.apis[survivor]?.url ?? '',
        'POST',
        `/api/conversations/${aliceDave}/messages`,
        { token: dave.accessToken, body: { content } },
      );
      assert.equal(res.status, 201);
      return res.body.message.id;
    };
    const first = await sendToAlice('before the crash');
    await eventually(() => aliceGot.some((p) => p.message.id === first), 5000, 'live message');

    const carolOffline = nextEvent(
      daveSocket,
      'user_offline',
      (p) => p.userId === carol.user.id,
      60_000,
    );
    const aliceBack = reconnected(aliceSocket);
    const killedAt = Date.now();
    cluster.apis[victim]?.kill('SIGKILL');
    const sent = [first];
    for (let i = 0; i < 5; i += 1) sent.push(await sendToAlice(`while alice reconnects ${i}`));

    await aliceBack;
    // Back through Nginx on the survivor, and the dead instance's share of her presence swept.
    await cluster.heldBy(alice.user.id, [survivor], 60_000);
    const caughtUp = await syncSince(cluster.url, alice, first);
    const seen = new Set([...aliceGot.map((p) => p.message.id), ...caughtUp, first]);
    assert.deepEqual(
      sent.filter((id) => !seen.has(id)),
      [],
      'every message reached alice, live or through /api/sync',
    );

    await carolOffline;
    assert.ok(Date.now() - killedAt < 60_000, 'offline within a minute');
    const status = async (userId: string) =>
      (
        await http<{ isOnline: boolean }>(cluster.url, 'GET', `/api/user/${userId}/online`, {
          token: dave.accessToken,
        })
      ).body.isOnline;
    assert.equal(await status(carol.user.id), false);
    assert.equal(await status(alice.user.id), true, 'alice reconnected, so she stays online');
    void carolSocket;

    // The survivor and its sockets never noticed, and live delivery works again.
    const daveGot = nextEvent(daveSocket, 'message_received', (p) => p.message.content === 'back');
    const ack = await request(aliceSocket, 'send_message', {
      conversationId: aliceDave,
      content: 'back',
    });
    assert.equal(ack.ok, true);
    await daveGot;
    const after = await sendToAlice('after the crash');
    await eventually(() => aliceGot.some((p) => p.message.id === after), 5000, 'live again');
    assert.equal(daveDisconnected, false);
  });
});

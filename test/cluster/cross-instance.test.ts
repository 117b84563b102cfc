import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { http, registerUser } from '../support/http.js';
import {
  connectSocket,
  eventually,
  nextEvent,
  record,
  request,
  requestOk,
  type ClientSocket,
} from '../support/sockets.js';
import {
  directConversation,
  skipWithoutNginx,
  startTestCluster,
  type MessageBody,
  type TestCluster,
} from './support.js';

describe('two api instances behind Nginx', { skip: skipWithoutNginx }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ instances: 2 });
  });

  test('users on different instances talk: messages, typing, read receipts, presence', async () => {
    const [one, two] = cluster.apis.map((api) => api.url ?? '');
    assert.ok(one && two && one !== two);
    const alice = await registerUser(one);
    const bob = await registerUser(two);
    const conversationId = await directConversation(one, alice, bob);

    const bobSocket = await connectSocket(two, bob.accessToken);
    const aliceOnline = nextEvent(bobSocket, 'user_online', (p) => p.userId === alice.user.id);
    const aliceSocket = await connectSocket(one, alice.accessToken);
    await aliceOnline;
    await cluster.heldBy(alice.user.id, [0]);
    await cluster.heldBy(bob.user.id, [1]);
    const online = await http<{ isOnline: boolean }>(
      two,
      'GET',
      `/api/user/${alice.user.id}/online`,
      {
        token: bob.accessToken,
      },
    );
    assert.equal(online.body.isOnline, true);

    const bobGot = record(bobSocket, 'message_received');
    const aliceGot = record(aliceSocket, 'message_received');
    const sent = await requestOk(aliceSocket, 'send_message', {
      conversationId,
      content: 'hi bob',
    });
    const messageId = sent.message.id;
    await eventually(() => bobGot.length === 1 && aliceGot.length === 1, 5000, 'fan-out');
    assert.equal(bobGot[0]?.message.id, messageId);

    const typing = nextEvent(aliceSocket, 'typing', (p) => p.userId === bob.user.id);
    assert.equal((await request(bobSocket, 'typing', { conversationId, isTyping: true })).ok, true);
    assert.deepEqual(await typing, { conversationId, userId: bob.user.id, isTyping: true });

    const read = nextEvent(aliceSocket, 'message_read', (p) => p.userId === bob.user.id);
    assert.equal(
      (await request(bobSocket, 'message_read', { conversationId, messageId })).ok,
      true,
    );
    assert.equal((await read).messageId, messageId);

    // A REST send to either instance reaches both users' sockets, once each.
    for (const [url, sender] of [
      [one, alice],
      [two, bob],
    ] as const) {
      const res = await http<MessageBody>(
        url,
        'POST',
        `/api/conversations/${conversationId}/messages`,
        {
          token: sender.accessToken,
          body: { content: `over REST to ${url}` },
        },
      );
      assert.equal(res.status, 201);
      const id = res.body.message.id;
      await eventually(
        () =>
          [bobGot, aliceGot].every((got) => got.filter((p) => p.message.id === id).length === 1),
        5000,
        'REST fan-out',
      );
    }

    const offline = nextEvent(bobSocket, 'user_offline', (p) => p.userId === alice.user.id);
    aliceSocket.disconnect();
    await offline;
    const after = await http<{ isOnline: boolean }>(
      one,
      'GET',
      `/api/user/${alice.user.id}/online`,
      {
        token: bob.accessToken,
      },
    );
    assert.equal(after.body.isOnline, false);
  });

  test('through Nginx: WebSocket, long-polling, and polling upgraded to WebSocket', async () => {
    const alice = await registerUser(cluster.url);
    const bob = await registerUser(cluster.url);
    const conversationId = await directConversation(cluster.url, alice, bob);
    const direct = await connectSocket(cluster.apis[0]?.url ?? '', bob.accessToken);
    const bobGot = record(direct, 'message_received');

    const talk = async (socket: ClientSocket, content: string) => {
      const ownGot = record(socket, 'message_received');
      const id = (await requestOk(socket, 'send_message', { conversationId, content })).message.id;
      await eventually(
        () => bobGot.some((p) => p.message.id === id) && ownGot.some((p) => p.message.id === id),
        5000,
        `${content} delivered`,
      );
    };

    const ws = await connectSocket(cluster.url, alice.accessToken, { transports: ['websocket'] });
    assert.equal(ws.io.engine.transport.name, 'websocket');
    await talk(ws, 'over websocket');

    const polling = await connectSocket(cluster.url, alice.accessToken, {
      transports: ['polling'],
    });
    assert.equal(polling.io.engine.transport.name, 'polling');
    await talk(polling, 'over long-polling');

    const upgrading = await connectSocket(cluster.url, alice.accessToken, {
      transports: ['polling', 'websocket'],
    });
    await eventually(() => upgrading.io.engine.transport.name === 'websocket', 5000, 'upgrade');
    await talk(upgrading, 'after the upgrade');

    // Long-polling needs every request of a session on one instance: Nginx kept them together.
    await cluster.heldBy(alice.user.id); // ip_hash: one client address, one instance
  });

  test('Nginx serves health, REST, docs and the web UI, and nothing outside the product paths', async () => {
    const ready = await http<{ ok: boolean }>(cluster.url, 'GET', '/health/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.ok, true);
    const docs = await fetch(`${cluster.url}/api/openapi.json`);
    assert.equal(docs.status, 200);
    await docs.arrayBuffer();
    const other = await http<{ error: { code: string } }>(cluster.url, 'GET', '/etc/passwd');
    assert.equal(other.status, 404);
    assert.equal(other.body.error.code, 'not_found');
    for (const path of ['/', '/admin']) {
      const page = await fetch(`${cluster.url}${path}`);
      assert.equal(page.status, 200, path);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      await page.arrayBuffer();
    }
    const metrics = await http(cluster.url, 'GET', '/metrics');
    assert.equal(metrics.status, 404, 'metrics are scraped from each process, not through Nginx');
  });
});

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { http, registerUser, type Registered } from '../support/http.js';
import {
  connectSocket,
  eventually,
  patient,
  record,
  request,
  type ClientSocket,
} from '../support/sockets.js';
import {
  directConversation,
  skipWithoutNginx,
  startTestCluster,
  syncSince,
  waitFor,
  type MessageBody,
  type TestCluster,
} from './support.js';

const REST_SENDS = 120;
const SOCKET_SENDS = 40;

describe('SIGTERM to an api instance during a burst of sends', { skip: skipWithoutNginx }, () => {
  let cluster: TestCluster;
  before(async () => {
    // The default drain deadline, stretched like every wait when TEST_PATIENCE says the machine is busy.
    cluster = await startTestCluster(
      { instances: 2 },
      { SHUTDOWN_TIMEOUT_MS: String(patient(10_000)) },
    );
  });

  test('it exits 0, and every acknowledged message is stored and delivered', async () => {
    const sender = await registerUser(cluster.url);
    const receiver = await registerUser(cluster.url);
    const conversationId = await directConversation(cluster.url, sender, receiver);

    // The sender's socket comes through Nginx; the instance it lands on is the one to stop.
    const senderSocket = await connectSocket(cluster.url, sender.accessToken, {
      reconnection: true,
    });
    const [victim = -1] = await cluster.heldBy(sender.user.id);
    const survivor = 1 - victim;
    const receiverSocket = await connectSocket(
      cluster.apis[survivor]?.url ?? '',
      receiver.accessToken,
    );
    const receiverGot = record(receiverSocket, 'message_received');
    const senderGot = record(senderSocket, 'message_received');
    const firstId = await sendRest(cluster.url, sender, conversationId, 'first');
    await eventually(() => senderGot.some((p) => p.message.id === firstId), 5000, 'first message');

    const acked = new Map<string, string>(); // clientMessageId -> message id
    let stopped: Promise<unknown> | null = null;
    const stopVictimAfter = (count: number) => {
      if (acked.size >= count && !stopped) {
        cluster.apis[victim]?.kill('SIGTERM');
        stopped = cluster.apis[victim]?.exited ?? null;
      }
    };
    const restBurst = async (lane: number) => {
      for (let i = lane; i < REST_SENDS; i += 6) {
        const key = `rest-${i}`;
        acked.set(key, await sendRest(cluster.url, sender, conversationId, key, key));
        stopVictimAfter(20);
      }
    };
    const socketBurst = async () => {
      for (let i = 0; i < SOCKET_SENDS; i += 1) {
        const key = `socket-${i}`;
        acked.set(key, await sendSocket(senderSocket, conversationId, key));
      }
    };
    await Promise.all([...[0, 1, 2, 3, 4, 5].map(restBurst), socketBurst()]);
    assert.ok(stopped, 'the victim was stopped during the burst');
    const exit = await cluster.apis[victim]?.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, 'a clean exit within SHUTDOWN_TIMEOUT_MS');

    const ids = new Set(acked.values());
    assert.equal(ids.size, REST_SENDS + SOCKET_SENDS, 'one message per clientMessageId');
    const stored = await storedMessages(cluster, receiver, conversationId);
    assert.deepEqual(
      [...ids].filter((id) => !stored.has(id)),
      [],
      'every acknowledged one stored',
    );
    assert.equal(stored.size, ids.size + 1, 'and nothing else (no duplicates from retries)');
    await eventually(
      () => [...ids].every((id) => receiverGot.some((p) => p.message.id === id)),
      10_000,
      'every acknowledged message delivered live to the receiver on the other instance',
    );
    // The sender's own socket was moved to the survivor; live events plus /api/sync cover all.
    const synced = await syncSince(cluster.url, sender, firstId);
    const seen = new Set([...senderGot.map((p) => p.message.id), ...synced]);
    assert.deepEqual(
      [...ids].filter((id) => !seen.has(id)),
      [],
    );
    await cluster.heldBy(sender.user.id, [survivor]);
  });
});

/** POST through Nginx; a refused or failed attempt is retried with the same clientMessageId. */
async function sendRest(
  url: string,
  user: Registered,
  conversationId: string,
  content: string,
  clientMessageId?: string,
): Promise<string> {
  return waitFor(
    async () => {
      try {
        const res = await http<MessageBody>(
          url,
          'POST',
          `/api/conversations/${conversationId}/messages`,
          {
            token: user.accessToken,
            body: { content, ...(clientMessageId ? { clientMessageId } : {}) },
          },
        );
        return res.status === 201 || res.status === 200 ? res.body.message.id : null;
      } catch {
        return null; // connection reset while the instance closed: not acknowledged, retry
      }
    },
    `REST send ${content}`,
    15_000,
  );
}

/** send_message with an ack; while the socket is moving to another instance, retry. */
function sendSocket(socket: ClientSocket, conversationId: string, key: string): Promise<string> {
  return waitFor(
    async () => {
      if (!socket.connected) return null;
      try {
        const ack = await request(
          socket,
          'send_message',
          { conversationId, content: key, clientMessageId: key },
          2000,
        );
        return ack.ok ? ack.message.id : null;
      } catch {
        return null; // no ack: the instance went away mid-request, retry the same key
      }
    },
    `socket send ${key}`,
    15_000,
  );
}

async function storedMessages(cluster: TestCluster, user: Registered, conversationId: string) {
  const ids = new Set<string>();
  let before: string | null = '';
  while (before !== null) {
    const res: { body: { items: { id: string }[]; nextCursor: string | null } } = await http(
      cluster.url,
      'GET',
      `/api/conversations/${conversationId}/messages?limit=100${before ? `&before=${before}` : ''}`,
      { token: user.accessToken },
    );
    for (const item of res.body.items) ids.add(item.id);
    before = res.body.nextCursor;
  }
  return ids;
}

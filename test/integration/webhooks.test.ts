import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqp from 'amqplib';
import { before, describe, test } from 'node:test';
import { atEnd, isolatedEnv, registerAdmin, startTestApp, type TestApp } from '../support/app.js';
import { directConversation, http, registerUser } from '../support/http.js';
import { sendText } from '../support/messaging.js';
import { tapEvents } from '../support/events.js';
import { eventually } from '../support/sockets.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
}

/** A local receiver: answers each request with `status(path)` and records it. */
async function receiver(
  status: (path: string) => number,
): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({
        path: req.url ?? '',
        headers: req.headers,
        raw: Buffer.concat(chunks).toString(),
      });
      const code = status(req.url ?? '');
      res.writeHead(code, code >= 300 && code < 400 ? { location: '/followed' } : {});
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  atEnd(() => new Promise((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

interface Delivery {
  eventId: string;
  status: string;
  attempts: number;
  lastError: string | null;
}

describe('outgoing webhooks (SPEC §10)', () => {
  let app: TestApp;
  let env: Record<string, string>;
  let admin: Awaited<ReturnType<typeof registerAdmin>>;

  const asAdmin = <T>(method: string, path: string, body?: unknown) =>
    http<T>(app.url, method, path, {
      token: admin.accessToken,
      ...(body === undefined ? {} : { body }),
    });

  before(async () => {
    env = await isolatedEnv({
      AUTO_MESSAGE_RETRY_DELAYS_MS: '50,100',
      EVENTS_CONSUMERS: 'webhooks',
    });
    app = await startTestApp(env);
    admin = await registerAdmin(app.url, env);
  });

  test('a matching event arrives signed over the raw body, once, with its headers', async () => {
    const hook = await receiver(() => 204);
    const created = await asAdmin<{ webhook: { id: string; secret: string } }>(
      'POST',
      '/api/admin/webhooks',
      { url: `${hook.url}/in`, events: ['message.*'] },
    );
    assert.equal(created.status, 201);
    const { id, secret } = created.body.webhook;
    assert.match(secret, /^[0-9a-f]{64}$/, 'a generated secret, shown once');
    const listed = await asAdmin<{ items: { id: string; secret?: string }[] }>(
      'GET',
      '/api/admin/webhooks',
    );
    assert.equal(listed.body.items.find((h) => h.id === id)?.secret, undefined, 'never again');

    const alice = await registerUser(app.url);
    const bob = await registerUser(app.url);
    const direct = await directConversation(app.url, alice, bob);
    const message = await sendText(app.url, alice, direct, 'to the webhook');
    await eventually(() => hook.got.length >= 1, 10_000, 'the delivery');
    const [first] = hook.got;
    assert.ok(first);
    const event = JSON.parse(first.raw) as { id: string; type: string; key: string };
    assert.equal(event.type, 'message.created', 'only message.* (no user.registered etc.)');
    assert.equal(event.key, message.id);
    assert.equal(first.headers['x-parley-event'], 'message.created');
    assert.equal(first.headers['x-parley-delivery'], event.id);
    const expected = createHmac('sha256', secret).update(first.raw).digest('hex');
    assert.equal(first.headers['x-parley-signature'], `sha256=${expected}`);

    const deliveries = await asAdmin<{ items: Delivery[] }>(
      'GET',
      `/api/admin/webhooks/${id}/deliveries?limit=10`,
    );
    assert.equal(deliveries.status, 200);
    await eventually(async () => {
      const res = await asAdmin<{ items: Delivery[] }>(
        'GET',
        `/api/admin/webhooks/${id}/deliveries`,
      );
      return res.body.items.some((d) => d.eventId === event.id && d.status === 'delivered');
    });
    assert.equal(hook.got.length, 1, 'delivered once');
    assert.equal((await asAdmin('DELETE', `/api/admin/webhooks/${id}`)).status, 204);
    assert.equal((await asAdmin('DELETE', `/api/admin/webhooks/${id}`)).status, 404);
  });

  test('a failing receiver gets retries with backoff, then the delivery is parked', async () => {
    // 302 is a failure too: redirects are never followed (/followed must stay unvisited).
    const hook = await receiver((path) => (path === '/followed' ? 204 : 302));
    const created = await asAdmin<{ webhook: { id: string } }>('POST', '/api/admin/webhooks', {
      url: `${hook.url}/down`,
      events: ['user.registered'],
      secret: 'a-secret-of-sixteen+',
    });
    const { id } = created.body.webhook;
    await registerUser(app.url);
    await eventually(
      async () => {
        const res = await asAdmin<{ items: Delivery[] }>(
          'GET',
          `/api/admin/webhooks/${id}/deliveries`,
        );
        return res.body.items[0]?.status === 'parked';
      },
      20_000,
      'the delivery parked',
    );
    const res = await asAdmin<{ items: Delivery[] }>('GET', `/api/admin/webhooks/${id}/deliveries`);
    const [parked] = res.body.items;
    assert.equal(parked?.attempts, 5, 'five attempts (AUTO_MESSAGE_MAX_ATTEMPTS)');
    assert.match(parked.lastError ?? '', /HTTP 302/);
    assert.equal(hook.got.filter((r) => r.path === '/down').length, 5);
    assert.equal(hook.got.filter((r) => r.path === '/followed').length, 0);
    await asAdmin('DELETE', `/api/admin/webhooks/${id}`);
  });

  test('bad registrations are refused and store nothing', async () => {
    const before = await asAdmin<{ items: unknown[] }>('GET', '/api/admin/webhooks');
    for (const body of [
      { url: 'ftp://example.com/x', events: ['#'] },
      { url: 'http://example.com/x', events: [] },
      { url: 'http://example.com/x', events: ['message..x'] },
      { url: 'http://example.com/x', events: ['#'], secret: 'short' },
      { url: { $gt: '' }, events: ['#'] },
    ]) {
      const res = await asAdmin('POST', '/api/admin/webhooks', body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    const user = await registerUser(app.url);
    const asUser = await http(app.url, 'POST', '/api/admin/webhooks', {
      token: user.accessToken,
      body: { url: 'http://example.com/x', events: ['#'] },
    });
    assert.equal(asUser.status, 403);
    const after = await asAdmin<{ items: unknown[] }>('GET', '/api/admin/webhooks');
    assert.equal(after.body.items.length, before.body.items.length);
  });

  test('NODE_ENV=production refuses loopback and private targets, by address or by name', async () => {
    const prod = await startTestApp({
      ...(await isolatedEnv()),
      NODE_ENV: 'production',
      JWT_ACCESS_SECRET: 'a'.repeat(40),
      JWT_REFRESH_SECRET: 'b'.repeat(40),
    });
    const prodAdmin = await registerAdmin(prod.url, prod.config);
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'http://192.168.0.10/hook',
      'http://[::1]/hook',
    ]) {
      const res = await http<{ error: { message: string } }>(
        prod.url,
        'POST',
        '/api/admin/webhooks',
        {
          token: prodAdmin.accessToken,
          body: { url, events: ['#'] },
        },
      );
      assert.equal(res.status, 400, url);
      assert.match(res.body.error.message, /private/);
    }
  });
});

describe('the webhooks queue follows the registered patterns', () => {
  test('only events some webhook asks for reach it; registering and removing rebind it', async () => {
    // No consumer runs: what reaches the `webhooks` queue stays there to be counted.
    const env = await isolatedEnv({ EVENTS_CONSUMERS: 'none' });
    const app = await startTestApp(env);
    const admin = await registerAdmin(app.url, env);
    const tap = await tapEvents(env);
    const broker = await amqp.connect(env.AMQP_URL ?? '');
    atEnd(() => broker.close());
    const channel = await broker.createChannel();
    const queued = async () => {
      await tap.take(); // every event so far published, confirmed, so routed
      const { messageCount } = await channel.checkQueue(
        `${env.AMQP_QUEUE_PREFIX}parley.events.webhooks`,
      );
      return messageCount;
    };
    const register = async (events: string[]) => {
      const res = await http<{ webhook: { id: string } }>(app.url, 'POST', '/api/admin/webhooks', {
        token: admin.accessToken,
        body: { url: 'http://example.com/hook', events },
      });
      assert.equal(res.status, 201);
      return res.body.webhook.id;
    };
    const remove = async (id: string) => {
      const res = await http(app.url, 'DELETE', `/api/admin/webhooks/${id}`, {
        token: admin.accessToken,
      });
      assert.equal(res.status, 204);
    };

    const first = await register(['message.*']);
    const alice = await registerUser(app.url);
    const bob = await registerUser(app.url);
    const direct = await directConversation(app.url, alice, bob);
    await sendText(app.url, alice, direct, 'one');
    assert.equal(await queued(), 1, 'message.created only: no user.registered, no conversation.*');

    // Two webhooks ask for message.*: removing one keeps it bound for the other.
    const second = await register(['message.*', 'user.*']);
    await remove(first);
    await sendText(app.url, alice, direct, 'two');
    await registerUser(app.url);
    assert.equal(await queued(), 3, 'message.created and user.registered for the second');

    await remove(second);
    await sendText(app.url, alice, direct, 'three');
    await registerUser(app.url);
    assert.equal(await queued(), 3, 'nothing once no webhook is left');
  });
});

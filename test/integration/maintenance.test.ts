import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { MongoClient, ObjectId } from 'mongodb';
import sharp from 'sharp';
import type { StatsHour } from '../../src/contracts/stats.js';
import { isolatedEnv, registerAdmin, startTestApp, type TestApp } from '../support/app.js';
import { directConversation, http, registerUser, type Registered } from '../support/http.js';
import { sendText } from '../support/messaging.js';
import { attachment, content, finishedTask, image, upload, type Upload } from '../support/media.js';

interface Triggered {
  runId: string;
  counts: Record<string, number>;
}

describe('scheduled media and stats jobs (SPEC §12)', () => {
  let app: TestApp;
  let env: Record<string, string>;
  let admin: Registered;
  let alice: Registered;
  let bob: Registered;
  let uploadDir: string;

  before(async () => {
    env = await isolatedEnv({
      AUTO_MESSAGE_QUEUE_CRON: '0 0 1 1 *',
      UPLOAD_OPTIMIZE_BYTES: '300000',
    });
    uploadDir = env.UPLOAD_DIR ?? '';
    app = await startTestApp(env);
    admin = await registerAdmin(app.url, env);
    alice = await registerUser(app.url);
    bob = await registerUser(app.url);
  });

  const trigger = (path: string, who = admin) =>
    http<Triggered>(app.url, 'POST', path, { token: who.accessToken });

  const uploadReady = async (data: Buffer, name = 'p.png'): Promise<Upload> => {
    const res = await upload(app.url, alice, [{ name, data }]);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const u = res.body.uploads[0] as Upload;
    assert.equal((await finishedTask(app.url, alice, u.task.id)).state, 'succeeded');
    return u;
  };

  /** Moves attachments' creation back in time, as if uploaded `hours` ago. */
  const age = async (ids: string[], hours: number) => {
    const mongo = new MongoClient(env.MONGODB_URI ?? '');
    await mongo.connect();
    try {
      await mongo
        .db(env.MONGODB_DB)
        .collection('attachments')
        .updateMany(
          { _id: { $in: ids.map((id) => new ObjectId(id)) } },
          { $set: { createdAt: new Date(Date.now() - hours * 3600_000) } },
        );
    } finally {
      await mongo.close();
    }
  };

  const strayPrefix = async (hoursOld: number) => {
    const prefix = new ObjectId().toHexString().padEnd(32, '0');
    await mkdir(join(uploadDir, prefix));
    await writeFile(join(uploadDir, prefix, 'original'), 'left by a process that died');
    const when = new Date(Date.now() - hoursOld * 3600_000);
    await utimes(join(uploadDir, prefix), when, when);
    return join(uploadDir, prefix);
  };

  test('only admins trigger maintenance jobs', async () => {
    for (const path of [
      '/api/admin/media/orphan-cleanup',
      '/api/admin/media/optimize',
      '/api/admin/stats/hourly',
    ])
      assert.equal((await trigger(path, alice)).status, 403, path);
    assert.equal(
      (await http(app.url, 'GET', '/api/admin/stats', { token: alice.accessToken })).status,
      403,
    );
  });

  test('orphan cleanup removes exactly the stale unattached uploads and ownerless files', async () => {
    const small = await image('png', 30, 30);
    const [stale, sent, fresh] = [
      await uploadReady(small),
      await uploadReady(small),
      await uploadReady(small),
    ];
    const direct = await directConversation(app.url, alice, bob);
    const res = await http(app.url, 'POST', `/api/conversations/${direct}/messages`, {
      token: alice.accessToken,
      body: { content: 'kept', attachmentIds: [sent.attachment.id] },
    });
    assert.equal(res.status, 201);
    await age([stale.attachment.id, sent.attachment.id], 25);
    const oldStray = await strayPrefix(2);
    const newStray = await strayPrefix(0);
    const notOurs = join(uploadDir, 'README.txt');
    await writeFile(notOurs, 'not a storage prefix');

    const run = await trigger('/api/admin/media/orphan-cleanup');
    assert.equal(run.status, 200);
    assert.deepEqual(run.body.counts, { orphanAttachments: 1, orphanFiles: 1 });
    assert.equal((await attachment(app.url, alice, stale.attachment.id)).status, 404);
    assert.equal((await content(app.url, alice, sent.attachment.id)).status, 200);
    assert.equal((await content(app.url, alice, fresh.attachment.id)).status, 200);
    assert.equal(existsSync(oldStray), false);
    assert.equal(existsSync(newStray), true);
    assert.equal(existsSync(notOurs), true);

    const again = await trigger('/api/admin/media/orphan-cleanup');
    assert.deepEqual(again.body.counts, { orphanAttachments: 0, orphanFiles: 0 });
    const runs = await http<{ items: { id: string; trigger: string; outcome: string }[] }>(
      app.url,
      'GET',
      '/api/admin/jobs/runs?name=media-orphan-cleanup',
      { token: admin.accessToken },
    );
    assert.deepEqual(
      runs.body.items.map((r) => [r.id, r.trigger, r.outcome]),
      [
        [again.body.runId, 'manual', 'succeeded'],
        [run.body.runId, 'manual', 'succeeded'],
      ],
    );
  });

  test('media-optimize gives large originals a ≤ 1600 px display variant, once', async () => {
    const big = await sharp({
      create: {
        width: 2400,
        height: 1800,
        channels: 3,
        background: '#888',
        noise: { type: 'gaussian', mean: 128, sigma: 40 },
      },
    })
      .jpeg({ quality: 90 })
      .toBuffer();
    const small = await uploadReady(await image('png', 40, 40));
    const large = await uploadReady(big, 'big.jpg');
    const run = await trigger('/api/admin/media/optimize');
    assert.equal(run.status, 200);
    assert.deepEqual(run.body.counts, { optimized: 1, failed: 0 });
    const view = (await attachment(app.url, alice, large.attachment.id)).body.attachment;
    assert.equal(view.display, `/api/attachments/${large.attachment.id}/content?variant=display`);
    const display = await content(app.url, alice, large.attachment.id, 'display');
    assert.equal(display.headers.get('content-type'), 'image/webp');
    const meta = await sharp(display.body).metadata();
    assert.deepEqual([meta.width, meta.height], [1600, 1200]);
    assert.equal(
      (await attachment(app.url, alice, small.attachment.id)).body.attachment.display,
      undefined,
    );
    assert.deepEqual((await trigger('/api/admin/media/optimize')).body.counts, {
      optimized: 0,
      failed: 0,
    });
  });

  test('stats-hourly counts messages, senders, users, attachments into stats_hourly', async () => {
    const direct = await directConversation(app.url, alice, bob);
    for (let i = 0; i < 3; i += 1) await sendText(app.url, alice, direct, `hello ${i}`);
    await sendText(app.url, bob, direct, 'hi');
    const run = await trigger('/api/admin/stats/hourly');
    assert.equal(run.status, 200);
    assert.equal(run.body.counts.hours, 4);
    const from = new Date(Date.now() - 5 * 3600_000).toISOString();
    const stats = await http<{ items: StatsHour[] }>(
      app.url,
      'GET',
      `/api/admin/stats?from=${encodeURIComponent(from)}`,
      { token: admin.accessToken },
    );
    assert.equal(stats.status, 200);
    const sum = (key: keyof StatsHour) =>
      stats.body.items.reduce((n, h) => n + (h[key] as number), 0);
    const mongo = new MongoClient(env.MONGODB_URI ?? '');
    await mongo.connect();
    try {
      const db = mongo.db(env.MONGODB_DB);
      assert.equal(sum('messages'), await db.collection('messages').countDocuments());
      assert.equal(sum('newUsers'), await db.collection('users').countDocuments());
      // Two were aged to yesterday by the orphan test: outside the hours computed.
      const recent = { createdAt: { $gte: new Date(Date.now() - 2 * 3600_000) } };
      assert.equal(sum('attachments'), await db.collection('attachments').countDocuments(recent));
    } finally {
      await mongo.close();
    }
    assert.ok(sum('messages') >= 5);
    assert.ok(sum('activeSenders') >= 2);
    assert.equal(sum('autoMessages'), 0);
    const bad = await http(
      app.url,
      'GET',
      '/api/admin/stats?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z',
      {
        token: admin.accessToken,
      },
    );
    assert.equal(bad.status, 400);
  });
});

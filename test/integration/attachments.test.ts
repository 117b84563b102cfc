import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { MessageView } from '../../src/contracts/messages.js';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { directConversation, http, registerUser, type Registered } from '../support/http.js';
import { createGroup, history, messagePath } from '../support/messaging.js';
import { attachment, content, finishedTask, image, upload, type Upload } from '../support/media.js';
import { connectSocket, nextEvent, request, requestOk } from '../support/sockets.js';

describe('attachments on messages (SPEC §12, §9)', () => {
  let app: TestApp;
  let alice: Registered;
  let carol: Registered;
  let dave: Registered;
  let outsider: Registered;
  let direct: string;

  before(async () => {
    app = await startTestApp(await isolatedEnv({ AUTO_MESSAGE_QUEUE_CRON: '0 0 1 1 *' }));
    [alice, carol, dave, outsider] = await Promise.all([
      registerUser(app.url),
      registerUser(app.url),
      registerUser(app.url),
      registerUser(app.url),
    ]);
    direct = await directConversation(app.url, alice, carol);
  });

  const uploadOne = async (who: Registered, name = 'pic.png'): Promise<Upload> => {
    const res = await upload(app.url, who, [{ name, data: await image('png', 320, 200) }]);
    assert.equal(res.status, 202);
    const u = res.body.uploads[0] as Upload;
    assert.equal((await finishedTask(app.url, who, u.task.id)).state, 'succeeded');
    return u;
  };

  const send = (who: Registered, conversationId: string, body: Record<string, unknown>) =>
    http<{ message: MessageView; error?: { code: string } }>(
      app.url,
      'POST',
      `/api/conversations/${conversationId}/messages`,
      { token: who.accessToken, body },
    );

  const readable = async (who: Registered, id: string) => {
    const meta = (await attachment(app.url, who, id)).status;
    const bytes = (await content(app.url, who, id)).status;
    const thumb = (await content(app.url, who, id, '300')).status;
    return [meta, bytes, thumb];
  };

  test('REST: a message carries attachments (content may be empty); members may read them', async () => {
    const u = await uploadOne(alice);
    assert.deepEqual(await readable(carol, u.attachment.id), [404, 404, 404]);
    const carolSocket = await connectSocket(app.url, carol.accessToken);
    const received = nextEvent(carolSocket, 'message_received', (p) =>
      Boolean(p.message.attachments?.length),
    );
    const res = await send(alice, direct, { content: '', attachmentIds: [u.attachment.id] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.message.content, '');
    assert.deepEqual(
      res.body.message.attachments?.map((a) => [a.id, a.status, a.width, a.height, a.kind]),
      [[u.attachment.id, 'ready', 320, 200, 'image']],
    );
    const event = await received;
    assert.equal(
      event.message.attachments?.[0]?.thumbnails?.['150'],
      `/api/attachments/${u.attachment.id}/content?variant=150`,
    );
    assert.deepEqual(await readable(carol, u.attachment.id), [200, 200, 200]);
    assert.deepEqual(await readable(outsider, u.attachment.id), [404, 404, 404]);
    const page = await history(app.url, carol, direct);
    assert.equal(page.body.items[0]?.attachments?.[0]?.id, u.attachment.id);
  });

  test('socket send_message takes attachmentIds too; group members may read them', async () => {
    const u = await uploadOne(alice);
    const group = await createGroup(app.url, alice, [carol, dave], 'pics');
    const socket = await connectSocket(app.url, alice.accessToken);
    const ack = await requestOk(socket, 'send_message', {
      conversationId: group,
      content: 'look',
      attachmentIds: [u.attachment.id],
    });
    assert.equal(ack.message.attachments?.[0]?.id, u.attachment.id);
    assert.deepEqual(await readable(dave, u.attachment.id), [200, 200, 200]);
    const empty = await request(socket, 'send_message', { conversationId: group, content: ' ' });
    assert.equal(empty.ok, false);
  });

  test('only the sender’s own, not failed, attachments can be sent; nothing is stored otherwise', async () => {
    const carols = await uploadOne(carol);
    const stolen = await send(alice, direct, {
      content: 'mine now',
      attachmentIds: [carols.attachment.id],
    });
    assert.equal(stolen.status, 400);
    const bad = await upload(app.url, alice, [
      { name: 'broken.jpg', data: (await image('jpeg', 200, 200)).subarray(0, 300) },
    ]);
    const failedTask = await finishedTask(app.url, alice, bad.body.uploads[0]?.task.id ?? '');
    assert.equal(failedTask.state, 'failed');
    const failed = await send(alice, direct, {
      content: 'broken',
      attachmentIds: [bad.body.uploads[0]?.attachment.id],
    });
    assert.equal(failed.status, 400);
    const unknown = await send(alice, direct, {
      content: 'x',
      attachmentIds: ['0123456789abcdef01234567'],
    });
    assert.equal(unknown.status, 400);
    const tooMany = await send(alice, direct, {
      content: 'x',
      attachmentIds: Array(11).fill(carols.attachment.id),
    });
    assert.equal(tooMany.status, 400);
    const noContent = await send(alice, direct, { content: '' });
    assert.equal(noContent.status, 400);
    const page = await history(app.url, alice, direct);
    assert.ok(page.body.items.every((m) => !['mine now', 'broken', 'x'].includes(m.content)));
    assert.deepEqual(await readable(alice, carols.attachment.id), [404, 404, 404]);
  });

  test('deleting the message drops its attachments from every representation and from members', async () => {
    const u = await uploadOne(alice);
    const sent = await send(alice, direct, { content: 'oops', attachmentIds: [u.attachment.id] });
    assert.deepEqual(await readable(carol, u.attachment.id), [200, 200, 200]);
    const del = await http(app.url, 'DELETE', messagePath(direct, sent.body.message.id), {
      token: alice.accessToken,
    });
    assert.equal(del.status, 204);
    const page = await history(app.url, carol, direct);
    const tombstone = page.body.items.find((m) => m.id === sent.body.message.id);
    assert.ok(tombstone?.deletedAt);
    assert.equal(tombstone.attachments, undefined);
    assert.deepEqual(await readable(carol, u.attachment.id), [404, 404, 404]);
    assert.deepEqual(await readable(alice, u.attachment.id), [200, 200, 200]);
  });
});

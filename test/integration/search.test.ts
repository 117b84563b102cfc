import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ObjectId } from 'mongodb';
import type { SearchPage } from '../../src/contracts/search.js';
import type { TestApp } from '../support/app.js';
import { http, type Registered } from '../support/http.js';
import {
  callAs,
  errorCode,
  messagePath,
  removeMember,
  sendText,
  startWithCast,
} from '../support/messaging.js';

const CLI = fileURLToPath(new URL('../../src/entrypoints/cli.js', import.meta.url));

describe('search (SPEC §11), default backend', () => {
  let env: Record<string, string>;
  let app: TestApp;
  let alice: Registered;
  let bob: Registered;
  let carol: Registered;
  let dave: Registered;
  let direct: string;
  let group: string;

  const search = (who: Registered, params: Record<string, string>) =>
    http<SearchPage & { error?: { code: string } }>(
      app.url,
      'GET',
      `/api/search/messages?${new URLSearchParams(params).toString()}`,
      { token: who.accessToken },
    );
  /** Ids of the first page (at most 100) of `q`, as `who` finds them. */
  const found = async (who: Registered, q: string, extra: Record<string, string> = {}) => {
    const res = await search(who, { q, limit: '100', ...extra });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.items.map((i) => i.message.id);
  };

  before(async () => {
    ({ env, app, alice, bob, carol, dave, direct, group } = await startWithCast('Gezi'));
  });

  test('every word must match, whole words, case- and diacritics-insensitive (Turkish and English)', async () => {
    const istanbul = await sendText(app.url, alice, group, "İstanbul'da güzel bir gün");
    const morning = await sendText(app.url, bob, group, 'Günaydın herkese, ISTANBUL bekliyor');
    const english = await sendText(app.url, alice, direct, 'Coffee in ıstanbul? Café Noir!');
    assert.deepEqual(
      new Set(await found(alice, 'istanbul')),
      new Set([istanbul.id, morning.id, english.id]),
    );
    assert.deepEqual(await found(alice, 'gunaydin'), [morning.id]);
    assert.deepEqual(await found(alice, 'GÜNAYDIN istanbul'), [morning.id]);
    assert.deepEqual(await found(alice, 'istanbul gün'), [istanbul.id], 'every word');
    assert.deepEqual(await found(alice, 'cafe noir'), [english.id]);
    assert.deepEqual(await found(alice, 'istan'), [], 'whole words, not prefixes');
    assert.deepEqual(await found(alice, 'istanbul zzzunknown'), []);
    // Quotes and minus signs are not operators: only their words count.
    assert.deepEqual(await found(alice, '"istanbul" -gün'), [istanbul.id]);
  });

  test('the result carries the message as stored and where it was found', async () => {
    const sent = await sendText(app.url, carol, group, 'unique-marker-alpha for carol');
    const res = await search(bob, { q: 'unique marker alpha' });
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, 1);
    const [item] = res.body.items;
    assert.deepEqual(item?.message, sent);
    assert.deepEqual(item?.conversation, { id: group, type: 'group', name: 'Gezi' });
    assert.equal(res.body.nextCursor, null);
    const inDirect = await sendText(app.url, bob, direct, 'unique-marker-beta');
    const directHit = (await search(alice, { q: 'marker beta' })).body.items[0];
    assert.equal(directHit?.message.id, inDirect.id);
    assert.deepEqual(directHit?.conversation, { id: direct, type: 'direct' });
  });

  test('only conversations the caller is in at query time; conversationId narrows', async () => {
    const inGroup = await sendText(app.url, alice, group, 'membership probe kiwi');
    const inDirect = await sendText(app.url, alice, direct, 'membership probe kiwi');
    assert.deepEqual(new Set(await found(bob, 'kiwi probe')), new Set([inGroup.id, inDirect.id]));
    assert.deepEqual(await found(carol, 'kiwi probe'), [inGroup.id]);
    assert.deepEqual(await found(dave, 'kiwi probe'), [], 'in neither');
    assert.deepEqual(await found(bob, 'kiwi', { conversationId: direct }), [inDirect.id]);
    const removed = await removeMember(app.url, alice, group, carol);
    assert.equal(removed.status, 204);
    assert.deepEqual(await found(carol, 'kiwi probe'), [], 'removed: finds nothing there at once');
    const asOutsider = await search(carol, { q: 'kiwi', conversationId: group });
    assert.equal(asOutsider.status, 404);
    assert.equal(errorCode(asOutsider), 'not_found');
    const readded = await callAs(app.url, alice, 'POST', `/api/conversations/${group}/members`, {
      userIds: [carol.user.id],
    });
    assert.equal(readded.status, 200);
    assert.deepEqual(await found(carol, 'kiwi probe'), [inGroup.id]);
  });

  test('edits are reflected and deleted messages never match', async () => {
    const sent = await sendText(app.url, bob, direct, 'papaya smoothie recipe');
    assert.deepEqual(await found(alice, 'papaya'), [sent.id]);
    const edit = await callAs(app.url, bob, 'PATCH', messagePath(direct, sent.id), {
      content: 'mango smoothie recipe',
    });
    assert.equal(edit.status, 200);
    assert.deepEqual(await found(alice, 'papaya'), [], 'the old word is gone');
    const hit = (await search(alice, { q: 'mango' })).body.items[0];
    assert.equal(hit?.message.content, 'mango smoothie recipe');
    assert.equal((await callAs(app.url, bob, 'DELETE', messagePath(direct, sent.id))).status, 204);
    assert.deepEqual(await found(alice, 'mango'), []);
    assert.deepEqual(await found(alice, 'smoothie recipe'), []);
  });

  test('best match first, ties newest first', async () => {
    const once = await sendText(app.url, alice, direct, 'walrus and other animals here');
    const thrice = await sendText(app.url, alice, direct, 'walrus walrus walrus');
    const older = await sendText(app.url, alice, direct, 'a walrus tie');
    const newer = await sendText(app.url, alice, direct, 'a walrus tie');
    assert.deepEqual(await found(alice, 'walrus'), [thrice.id, newer.id, older.id, once.id]);
  });

  test('cursor pages never repeat or skip, even with new matches arriving between pages', async () => {
    const sent = [];
    for (let i = 0; i < 7; i += 1) {
      sent.push(await sendText(app.url, alice, group, i % 2 ? `pager pager ${i}` : `pager ${i}`));
    }
    const expected = await found(bob, 'pager');
    assert.equal(expected.length, 7);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await search(bob, { q: 'pager', limit: '3', ...(cursor ? { cursor } : {}) });
      assert.equal(res.status, 200);
      seen.push(...res.body.items.map((i) => i.message.id));
      cursor = res.body.nextCursor;
      pages += 1;
      // Arrives after the first page: ranked first (newest of the best), so never in a later page.
      if (pages === 1) await sendText(app.url, alice, group, 'pager pager late');
    } while (cursor);
    assert.deepEqual(seen, expected);
    assert.equal(pages, 3);
  });

  test('bad input is refused with 400/404 and the error body', async () => {
    const base = `/api/search/messages`;
    const refused: Array<[string, number]> = [
      [base, 400],
      [`${base}?q=`, 400],
      [`${base}?q=${'a'.repeat(201)}`, 400],
      [`${base}?q=a&q=b`, 400],
      [`${base}?q[$gt]=`, 400],
      [`${base}?q=${encodeURIComponent('!!! -- ""')}`, 400],
      [`${base}?q=x&limit=101`, 400],
      [`${base}?q=x&limit=0`, 400],
      [`${base}?q=x&conversationId=nope`, 400],
      [`${base}?q=x&cursor=garbage`, 400],
      [`${base}?q=x&cursor=${Buffer.from('1_2_zz').toString('base64url')}`, 400],
      [`${base}?q=x&conversationId=${'0'.repeat(24)}`, 404],
    ];
    for (const [path, status] of refused) {
      const res = await http<{ error: { code: string; message: string } }>(app.url, 'GET', path, {
        token: alice.accessToken,
      });
      assert.equal(res.status, status, path);
      assert.equal(typeof res.body.error.message, 'string', path);
    }
    assert.equal((await http(app.url, 'GET', `${base}?q=x`)).status, 401);
    const ok = await search(alice, { q: 'a'.repeat(200) });
    assert.equal(ok.status, 200);
  });

  test('`npm run cli -- search reindex` indexes messages stored before search, with progress', async () => {
    const messages = app.mongo.db.collection('messages');
    const now = new Date();
    const legacy = { conversationId: new ObjectId(direct), senderId: new ObjectId(bob.user.id) };
    const { insertedId: old } = await messages.insertOne({
      ...legacy,
      content: 'Eski mesaj: Kırmızı elma',
      type: 'text',
      createdAt: now,
      updatedAt: now,
    });
    const { insertedId: stale } = await messages.insertOne({
      ...legacy,
      content: 'yeşil armut',
      searchText: ' something else ',
      type: 'text',
      createdAt: now,
      updatedAt: now,
    });
    assert.deepEqual(await found(alice, 'kirmizi elma'), [], 'no searchText yet');
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'search', 'reindex'], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    assert.match(stdout, /search reindex \(mongodb\): \d+\/\d+ \(\d+\.\d%\)/);
    assert.match(stdout, /search reindex done: \d+ messages/);
    assert.deepEqual(await found(alice, 'kirmizi elma'), [old.toHexString()]);
    assert.deepEqual(await found(alice, 'yesil armut'), [stale.toHexString()]);
    assert.deepEqual(await found(alice, 'something'), []);
  });
});

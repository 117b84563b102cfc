import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderEventsDoc } from '../../src/docs/events-doc.js';
import { EVENT_TYPES } from '../../src/contracts/events.js';

test('docs/EVENTS.md is what `npm run docs:events` renders from the contracts', () => {
  const committed = readFileSync(new URL('../../../docs/EVENTS.md', import.meta.url), 'utf8');
  assert.equal(committed, renderEventsDoc(), 'stale: run `npm run docs:events` and commit');
  for (const type of EVENT_TYPES) assert.ok(committed.includes(`### \`${type}\``), type);
});

test('SPEC §10 lists exactly these event types', () => {
  assert.deepEqual(EVENT_TYPES, [
    'user.registered',
    'conversation.created',
    'conversation.updated',
    'conversation.member_added',
    'conversation.member_removed',
    'message.created',
    'message.edited',
    'message.deleted',
    'message.read',
    'reaction.added',
    'reaction.removed',
    'automessage.sent',
    'attachment.ready',
    'attachment.failed',
    'task.finished',
  ]);
});

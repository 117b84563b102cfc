import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  contractVerdict,
  openApiBreakingChanges,
  socketBreakingChanges,
  socketDocument,
  versionBumped,
  type SocketDocument,
} from '../../src/http/api-compat.js';

/** A one-route OpenAPI document: POST /api/things with `body`, answering 201 with `result`. */
function api(body: object, result: object, extra: Record<string, object> = {}) {
  return {
    paths: {
      '/api/things': {
        post: {
          requestBody: { content: { 'application/json': { schema: body } } },
          responses: { 201: { content: { 'application/json': { schema: result } } } },
        },
      },
      ...extra,
    },
  };
}
const obj = (properties: object, required: string[] = [], strict = false) => ({
  type: 'object',
  properties,
  required,
  ...(strict ? { additionalProperties: false } : {}),
});
const str = { type: 'string' };
const whats = (doc1: object, doc2: object) => openApiBreakingChanges(doc1, doc2).map((b) => b.what);

describe('contract compatibility', () => {
  const base = api(obj({ name: str }, ['name'], true), obj({ id: str, name: str }, ['id', 'name']));

  test('the same document, or only additions, is not breaking', () => {
    assert.deepEqual(whats(base, base), []);
    const added = api(
      obj({ name: str, note: str }, ['name'], true),
      obj({ id: str, name: str, extra: str }, ['id', 'name']),
      { '/api/more': { get: {} } },
    );
    assert.deepEqual(whats(base, added), []);
  });

  test('removed routes and statuses, new requirements and missing response fields are', () => {
    assert.deepEqual(openApiBreakingChanges(base, { paths: {} }), [
      { where: 'POST /api/things', what: 'removed' },
    ]);
    const stricter = api(
      obj(
        { name: { type: 'string', maxLength: 3 }, age: { type: 'number' } },
        ['name', 'age'],
        true,
      ),
      obj({ id: str, name: str }, ['id']),
    );
    assert.deepEqual(whats(base, stricter), [
      'body.age: newly required',
      'body.name: maxLength undefined → 3',
      '201.name: no longer always present',
    ]);
    const dropped = api(
      obj({}, [], true),
      obj({ id: { type: 'number' }, name: str }, ['id', 'name']),
    );
    assert.deepEqual(whats(base, dropped), [
      'body.name: no longer accepted',
      '201.id: type string → number',
    ]);
  });

  test('enums: a request may accept more, a response may not send more', () => {
    const e = (values: string[]) => ({ type: 'string', enum: values });
    const one = api(obj({ kind: e(['a']) }), obj({ kind: e(['a']) }, ['kind']));
    const two = api(obj({ kind: e(['a', 'b']) }), obj({ kind: e(['a', 'b']) }, ['kind']));
    assert.deepEqual(whats(one, two), ['201.kind: may now be ["b"]']);
    assert.deepEqual(whats(two, one), ['body.kind: no longer accepts ["b"]']);
  });

  test('$refs are followed in each document', () => {
    const withRef = (props: object, required: string[]) => ({
      ...api(str, { $ref: '#/components/schemas/Thing' }),
      components: { schemas: { Thing: obj(props, required) } },
    });
    assert.deepEqual(whats(withRef({ id: str }, ['id']), withRef({ id: str }, [])), [
      '201.id: no longer always present',
    ]);
  });

  test('the socket contract: a changed payload or a removed event is breaking', () => {
    const before = socketDocument();
    assert.deepEqual(socketBreakingChanges(before, before), []);
    const after: SocketDocument = structuredClone(before);
    delete (after.serverEvents as Record<string, unknown>).user_online;
    const message = after.serverEvents.message_received as {
      $defs: Record<string, { required: string[] }>;
    };
    message.$defs.Message!.required = message.$defs.Message!.required.filter(
      (k) => k !== 'content',
    );
    assert.deepEqual(socketBreakingChanges(before, after), [
      { where: 'message_received', what: 'payload.message.content: no longer always present' },
      { where: 'user_online', what: 'server event removed' },
    ]);
    assert.deepEqual(socketBreakingChanges(after, before), [], 'adding back is additive');
  });

  test('a breaking change passes only with a version bump and a CHANGELOG entry naming it', () => {
    const breaking = [{ where: 'POST /api/things', what: 'removed' }];
    const verdict = (newVersion: string, changelog: string) =>
      contractVerdict({ kind: 'REST', breaking, oldVersion: '0.1.0', newVersion, changelog });
    assert.match(verdict('0.1.0', '')[0] ?? '', /without a version bump/);
    assert.match(verdict('0.2.0', '## REST 0.1.0\n')[0] ?? '', /no "## REST 0.2.0"/);
    assert.match(verdict('0.2.0', '## REST 0.2.0\n- other things\n')[0] ?? '', /does not name/);
    assert.deepEqual(
      verdict('0.2.0', '## REST 0.2.0\n- `POST /api/things` removed\n## REST 0.1.0\n'),
      [],
    );
    assert.deepEqual(
      contractVerdict({
        kind: 'REST',
        breaking: [],
        oldVersion: '1.0.0',
        newVersion: '1.0.0',
        changelog: '',
      }),
      [],
    );
    assert.equal(versionBumped('0.9.9', '0.10.0'), true);
    assert.equal(versionBumped('1.0.0', '0.10.0'), false);
  });
});

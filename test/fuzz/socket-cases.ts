import fc from 'fast-check';
import type { ClientEvent } from '../../src/contracts/socket.js';
import {
  OPERATORS,
  PROTOTYPE_KEYS,
  refused,
  valid,
  type JsonSchema,
  type SchemaHints,
} from './schema-arbitraries.js';

/** One event the fuzzer emits with an ack, and whether the server must refuse it. */
export interface SocketCase {
  event: ClientEvent;
  payload: unknown;
  mustRefuse: boolean;
  mutation: string;
}

/** A frame written below Socket.IO (engine.io message), on a connection that may be dropped. */
export interface RawFrameCase {
  frame: string;
  mutation: string;
}

/** `[[[…]]]` built without recursion, so the client's encoder is what walks it. */
function deepArray(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

export function validSocketCase(
  event: ClientEvent,
  schema: JsonSchema,
  hints: SchemaHints,
): fc.Arbitrary<SocketCase> {
  return valid(schema, hints).map((payload) => ({
    event,
    payload,
    mustRefuse: false,
    mutation: 'valid',
  }));
}

export function refusedSocketCase(
  event: ClientEvent,
  schema: JsonSchema,
  hints: SchemaHints,
): fc.Arbitrary<SocketCase> {
  const bad = refused(schema, hints);
  const base = valid(schema, hints) as fc.Arbitrary<Record<string, unknown>>;
  const refusing = (mutation: string, payloads: fc.Arbitrary<unknown>) =>
    payloads.map((payload) => ({ event, payload, mustRefuse: true, mutation }));
  return fc.oneof(
    ...(bad ? [refusing('payload', bad)] : []),
    refusing('operators', fc.constantFrom(...OPERATORS)),
    refusing('not an object', fc.constantFrom(undefined, null, 'text', 42, true, [], [{}])),
    refusing(
      'prototype keys',
      fc
        .tuple(base, fc.constantFrom(...PROTOTYPE_KEYS))
        .map(([value, key]) => ({ ...value, [key]: { isAdmin: true }, $where: '1' })),
    ),
    refusing(
      'deep payload',
      fc
        .tuple(base, fc.integer({ min: 100, max: 3000 }))
        .map(([value, depth]) => ({ ...value, conversationId: deepArray(depth) })),
    ),
  );
}

/**
 * Frames no well-behaved client sends: truncated or non-JSON packets, unknown packet types,
 * event names that are not strings or are prototype keys, binary placeholders with no
 * attachment, namespaces that do not exist, frames over the size limit. The server may drop
 * the connection that sent them; it must not fall over or drop anyone else.
 */
export function rawFrameCase(): fc.Arbitrary<RawFrameCase> {
  const frames: [string, fc.Arbitrary<string>][] = [
    [
      'truncated packet',
      fc
        .tuple(fc.nat(), fc.constantFrom('2["send_message",{"conversationId":"x","content":"hi"}]'))
        .map(([n, f]) => f.slice(0, 1 + (n % (f.length - 1)))),
    ],
    ['not JSON', fc.constantFrom('2{', '2["typing",{]', '2["a"]]', '2\u0000', '2"')],
    ['unknown packet type', fc.constantFrom('9', '7[]', 'x', '')],
    ['no event name', fc.constantFrom('2[]', '2[1,2]', '2[null]', '2[{}]', '2["", {}]')],
    [
      'prototype event names',
      fc
        .constantFrom(...PROTOTYPE_KEYS, 'toString', 'hasOwnProperty', 'connect', 'disconnect')
        .map((name) => `21${JSON.stringify([name, {}])}`),
    ],
    [
      'binary placeholder without attachment',
      fc.constantFrom(
        '51-["send_message",{"_placeholder":true,"num":0}]',
        '52-["typing",{"_placeholder":true,"num":7}]',
        '5-1["typing"]',
      ),
    ],
    [
      'unknown namespace',
      fc.constantFrom('0/admin,', '0/nope,{"token":"x"}', '2/nope,["typing",{}]'),
    ],
    ['ack for nothing', fc.constantFrom('3999[]', '3[]', '3-1[]')],
    [
      'deep frame',
      fc
        .integer({ min: 500, max: 8000 })
        .map((d) => `2["typing",${'['.repeat(d)}${']'.repeat(d)}]`),
    ],
    [
      'oversized frame',
      fc
        .constantFrom(40_000, 200_000)
        .map((n) => `2["send_message",{"conversationId":"0","content":"${'x'.repeat(n)}"}]`),
    ],
  ];
  return fc.oneof(...frames.map(([mutation, frame]) => frame.map((f) => ({ frame: f, mutation }))));
}

/** What a handshake carries: the `auth` object and any headers, as an attacker shapes them. */
export interface HandshakeCase {
  auth: Record<string, unknown>;
  headers: Record<string, string>;
  mutation: string;
}

/** Handshakes that must be refused with `unauthorized`: no token, or no token of ours. */
export function refusedHandshake(strangers: {
  forged: string;
  unsigned: string;
}): fc.Arbitrary<HandshakeCase> {
  const token = fc.oneof(
    fc.constantFrom<unknown>(
      '',
      'x',
      'not.a.token',
      strangers.forged,
      strangers.unsigned,
      null,
      42,
      true,
    ),
    fc.constantFrom<unknown>(...OPERATORS, [], ['a'], { token: 'x' }),
    fc.constantFrom(5000, 20_000).map((n) => 'a'.repeat(n)),
    fc.string({ unit: 'binary', maxLength: 40 }),
  );
  return fc.oneof(
    token.map((t) => ({ auth: { token: t }, headers: {}, mutation: 'token' })),
    fc.constant({ auth: {}, headers: {}, mutation: 'no token' }),
    fc.constantFrom(...PROTOTYPE_KEYS).map((key) => ({
      auth: JSON.parse(`{"${key}":{"token":"x"}}`) as Record<string, unknown>,
      headers: {},
      mutation: 'prototype keys',
    })),
    fc
      .constantFrom(
        'Basic YWRtaW46YWRtaW4=',
        'Bearer',
        'Bearer  x',
        `Bearer ${strangers.unsigned}`,
        'bearer {"$gt":""}',
      )
      .map((authorization) => ({ auth: {}, headers: { authorization }, mutation: 'header' })),
  );
}

import fc from 'fast-check';
import type { KnownIds } from './known-ids.js';
import {
  knownId,
  OPERATORS,
  PROTOTYPE_KEYS,
  refused,
  valid,
  type JsonSchema,
  type SchemaHints,
} from './schema-arbitraries.js';

/** One operation of the OpenAPI document, as the fuzzer needs it. */
export interface Operation {
  method: string;
  /** OpenAPI template: `/api/conversations/{id}`. */
  template: string;
  secured: boolean;
  pathParams: { name: string; schema: JsonSchema }[];
  queryParams: { name: string; schema: JsonSchema; required: boolean }[];
  body: JsonSchema | null;
  /** False where the route runs without a body too. */
  bodyRequired: boolean;
  /** The multipart field of an upload route. */
  multipart: string | null;
  responses: Record<string, { schema: JsonSchema | null; binary: boolean }>;
}

/** Who sends a request; the runner turns each into an Authorization header. */
export type Identity = 'admin' | 'member' | 'none' | 'garbage' | 'forged' | 'unsigned' | 'basic';

/** One request the fuzzer sends, and whether the server must refuse it. */
export interface HttpCase {
  op: Operation;
  mustRefuse: boolean;
  /** What was done to the input, for failure reports. */
  mutation: string;
  identity: Identity;
  /** Path and query, already encoded. */
  url: string;
  headers: Record<string, string>;
  body: string | Buffer | null;
}

interface OpenApiParameter {
  name: string;
  in: string;
  required?: boolean;
  schema: JsonSchema;
}
interface OpenApiOperation {
  security?: unknown[];
  parameters?: OpenApiParameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }>; required?: boolean };
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, JsonSchema> };
}

/** Every operation of the document. */
export function operationsOf(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const params = op.parameters ?? [];
      const content = op.requestBody?.content ?? {};
      const multipart = content['multipart/form-data']?.schema.properties ?? null;
      return {
        method: method.toUpperCase(),
        template,
        secured: Boolean(op.security?.length),
        pathParams: params.filter((p) => p.in === 'path'),
        queryParams: params
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, schema: p.schema, required: p.required ?? false })),
        body: content['application/json']?.schema ?? null,
        bodyRequired: op.requestBody?.required ?? false,
        multipart: multipart ? (Object.keys(multipart)[0] ?? null) : null,
        responses: Object.fromEntries(
          Object.entries(op.responses).map(([status, r]) => [
            status,
            {
              schema: r.content?.['application/json']?.schema ?? null,
              binary: Boolean(r.content?.['application/octet-stream']),
            },
          ]),
        ),
      };
    }),
  );
}

/** Schema hints plus the known ids themselves, for routes that take related ids together. */
export interface FuzzHints extends SchemaHints {
  known: KnownIds;
}

export function schemaHints(doc: OpenApiDocument, known: KnownIds): FuzzHints {
  return {
    known,
    idsFor: (name) => known.idsFor(name),
    resolve(ref) {
      const name = ref.replace('#/components/schemas/', '');
      const schema = doc.components.schemas[name];
      if (!schema) throw new Error(`unknown $ref ${ref}`);
      return schema;
    },
  };
}

const EMOJI = ['👍', '❤️', '😂', '🇫🇷', '👨‍👩‍👧', '1️⃣', '🏳️‍🌈'];

/**
 * A path segment value: schema-valid, with the server's real ids and emoji preferred. An `{id}`
 * is named by the segment before it (`/api/tasks/{id}`: a task).
 */
function validSegment(op: Operation, name: string, schema: JsonSchema, hints: SchemaHints) {
  if (name === 'emoji') return fc.oneof(fc.constantFrom(...EMOJI), fc.string({ minLength: 1 }));
  const kind = name === 'id' ? /(\w[\w-]*)\/\{id\}/.exec(op.template)?.[1] : name;
  const known = knownId(hints, kind).map((id) => id || 'none');
  const drawn = valid(schema, hints).map(String);
  return schema.enum ? drawn : fc.oneof({ arbitrary: known, weight: 4 }, drawn);
}

interface Parts {
  path: Record<string, string>;
  query: [string, string][];
  body: unknown;
}

function validParts(op: Operation, hints: FuzzHints): fc.Arbitrary<Parts> {
  const segments = fc.record(
    Object.fromEntries(
      op.pathParams.map((p) => [p.name, validSegment(op, p.name, p.schema, hints)]),
    ),
  );
  // A message's route takes its conversation too: mostly a real pair.
  const takesMessage = op.pathParams.some((p) => p.name === 'messageId');
  const pair = fc.tuple(segments, fc.nat()).map(([drawn, i]) => {
    const message = hints.known.messages[i % hints.known.messages.length];
    return message ? { ...drawn, id: message.conversationId, messageId: message.id } : drawn;
  });
  const path = takesMessage ? fc.oneof({ arbitrary: pair, weight: 3 }, segments) : segments;
  const query = fc.tuple(
    ...op.queryParams.map((p) =>
      fc
        .tuple(fc.boolean(), valid(p.schema, hints, p.name))
        .map(([include, v]): [string, string][] =>
          p.required || include ? [[p.name, String(v)]] : [],
        ),
    ),
  );
  const body = !op.body
    ? fc.constant(undefined)
    : op.bodyRequired
      ? valid(op.body, hints)
      : fc.option(valid(op.body, hints), { nil: undefined });
  return fc.record({ path, query: query.map((q) => q.flat()), body });
}

function urlOf(op: Operation, parts: Parts, rawSegments: Record<string, string> = {}): string {
  const path = op.template.replace(
    /\{(\w+)\}/g,
    (_m, name: string) => rawSegments[name] ?? encodeText(parts.path[name] ?? ''),
  );
  const query = parts.query.map(([k, v]) => `${encodeText(k)}=${encodeText(v)}`).join('&');
  return query ? `${path}?${query}` : path;
}

/** Percent-encoding of any text: lone surrogates (no UTF-8 of their own) go as U+FFFD. */
function encodeText(text: string): string {
  return encodeURIComponent(Buffer.from(text).toString());
}

const JSON_TYPE = { 'content-type': 'application/json' };

function jsonCase(op: Operation, parts: Parts, identity: Identity, mutation: string): HttpCase {
  const hasBody = parts.body !== undefined;
  return {
    op,
    mustRefuse: false,
    mutation,
    identity,
    url: urlOf(op, parts),
    headers: hasBody ? { ...JSON_TYPE } : {},
    body: hasBody ? JSON.stringify(parts.body) : null,
  };
}

const authorized = (op: Operation): fc.Arbitrary<Identity> =>
  op.secured
    ? fc.oneof({ arbitrary: fc.constant('admin'), weight: 9 }, fc.constant('member'))
    : fc.constant('none');

/** Requests whose every part matches the document (they may still be 404, 403 or 409). */
export function validCase(op: Operation, hints: FuzzHints): fc.Arbitrary<HttpCase> {
  if (op.multipart) return uploadCase(op, false);
  // Query keys no route names, which are stripped or refused but never reach a query builder.
  const strayKey = fc.option(
    fc.constantFrom<[string, string]>(
      ['__proto__', 'x'],
      ['constructor[prototype][isAdmin]', '1'],
      ['limit[$gt]', '1'],
      ['$where', '1'],
    ),
    { freq: 5 },
  );
  // Without a body, some clients still send `content-length: 0` and a type (fetch does for a
  // bare POST): no body at all, never a 415.
  const emptyBody = fc.option(fc.constantFrom('text/plain;charset=UTF-8', 'application/json', ''), {
    freq: 3,
  });
  return fc
    .tuple(validParts(op, hints), authorized(op), fc.boolean(), strayKey, emptyBody)
    .map(([parts, identity, charset, stray, empty]) => {
      const query = stray ? [...parts.query, stray] : parts.query;
      const c = jsonCase(
        op,
        { ...parts, query },
        identity,
        stray ? 'valid, stray query key' : 'valid',
      );
      if (charset && c.body !== null) c.headers['content-type'] = 'application/json; charset=utf-8';
      if (empty !== null && c.body === null && op.method !== 'GET') {
        c.body = '';
        if (empty) c.headers['content-type'] = empty;
        c.mutation += ', empty body';
      }
      return c;
    });
}

/** Requests with at least one part the route must refuse. */
export function refusedCase(op: Operation, hints: FuzzHints): fc.Arbitrary<HttpCase> {
  if (op.multipart) return uploadCase(op, true);
  const mutations: fc.Arbitrary<HttpCase>[] = [];
  const base = fc.tuple(validParts(op, hints), authorized(op));
  const refusing = (mutation: string, change: (c: HttpCase, parts: Parts) => fc.Arbitrary<void>) =>
    base.chain(([parts, identity]) => {
      const c = { ...jsonCase(op, parts, identity, mutation), mustRefuse: true };
      return change(c, parts).map(() => c);
    });

  if (op.secured) {
    const strangers = fc.constantFrom<Identity>('none', 'garbage', 'forged', 'unsigned', 'basic');
    mutations.push(refusing('credentials', (c) => strangers.map((id) => void (c.identity = id))));
  }
  if (op.template.startsWith('/api/admin/')) {
    mutations.push(refusing('not an admin', (c) => fc.constant(void (c.identity = 'member'))));
  }
  for (const p of op.pathParams) {
    const bad = refused(p.schema, hints, 'text');
    const segments = fc.oneof(
      // An empty segment would name another route (`/api/conversations/`): not this one's input.
      ...(bad ? [bad.map((v) => encodeText(String(v))).filter((s) => s !== '')] : []),
      // Percent-encoding that is not UTF-8: the router cannot decode it.
      fc.constantFrom('%E0%A4%A', '%F0%9F', '%C0%AF', '%FF'),
    );
    mutations.push(
      refusing(`path ${p.name}`, (c, parts) =>
        segments.map((s) => void (c.url = urlOf(op, parts, { [p.name]: s }))),
      ),
    );
  }
  for (const q of op.queryParams) mutations.push(refusedQuery(op, q, hints, refusing));
  if (op.body) mutations.push(...refusedBodies(op, op.body, hints, refusing));
  return fc.oneof(...mutations);
}

type Refusing = (
  mutation: string,
  change: (c: HttpCase, parts: Parts) => fc.Arbitrary<void>,
) => fc.Arbitrary<HttpCase>;

function refusedQuery(
  op: Operation,
  q: Operation['queryParams'][number],
  hints: SchemaHints,
  refusing: Refusing,
): fc.Arbitrary<HttpCase> {
  const bad = refused(q.schema, hints, 'text');
  const others = (parts: Parts) => parts.query.filter(([k]) => k !== q.name);
  const withQuery = (c: HttpCase, parts: Parts, pairs: [string, string][]) =>
    void (c.url = urlOf(op, { ...parts, query: [...others(parts), ...pairs] }));
  return fc.oneof(
    // The same key twice arrives as an array, which no scalar parameter accepts.
    refusing(`duplicated query ${q.name}`, (c, parts) =>
      fc.tuple(valid(q.schema, hints), valid(q.schema, hints)).map(([a, b]) =>
        withQuery(c, parts, [
          [q.name, String(a)],
          [q.name, String(b)],
        ]),
      ),
    ),
    ...(bad
      ? [
          refusing(`query ${q.name}`, (c, parts) =>
            bad.map((v) => withQuery(c, parts, [[q.name, String(v)]])),
          ),
        ]
      : []),
    ...(q.required
      ? [refusing(`missing query ${q.name}`, (c, parts) => fc.constant(withQuery(c, parts, [])))]
      : []),
  );
}

/** `{"a":` + deep nesting: JSON that parsers and validators must survive. */
function deepJson(depth: number): string {
  return `{"content":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

function refusedBodies(
  op: Operation,
  schema: JsonSchema,
  hints: SchemaHints,
  refusing: Refusing,
): fc.Arbitrary<HttpCase>[] {
  const bad = refused(schema, hints);
  const setBody = (c: HttpCase, body: string, type = 'application/json') => {
    c.body = body;
    c.headers['content-type'] = type;
  };
  const validText = (parts: Parts) => JSON.stringify(parts.body ?? {});
  return [
    ...(bad
      ? [refusing('body', (c) => bad.map((v) => setBody(c, JSON.stringify(v) ?? 'null')))]
      : []),
    refusing('body with operators', (c) =>
      fc.constantFrom(...OPERATORS).map((v) => setBody(c, JSON.stringify(v))),
    ),
    refusing('body not an object', (c) =>
      fc.constantFrom('"text"', '1', 'null', 'true', '[]', '[{}]').map((v) => setBody(c, v)),
    ),
    refusing('truncated body', (c, parts) =>
      fc.nat().map((n) => {
        const text = validText(parts);
        setBody(c, text.slice(0, 1 + (n % (text.length - 1))));
      }),
    ),
    refusing('not JSON', (c) =>
      fc
        .constantFrom("{'a':1}", '{"a":NaN}', '{"a":1,}', '\u0000', '{"a":"\\u12"}', '{{}}')
        .map((v) => setBody(c, v)),
    ),
    refusing('deep body', (c) =>
      fc.integer({ min: 1000, max: 20_000 }).map((d) => setBody(c, deepJson(d))),
    ),
    refusing('huge body', (c) =>
      fc
        .constantFrom(150_000, 1_000_000)
        .map((n) => setBody(c, JSON.stringify({ content: 'x'.repeat(n) }))),
    ),
    refusing('prototype keys', (c) =>
      fc
        .constantFrom(...PROTOTYPE_KEYS)
        .map((key) => setBody(c, `{"${key}":{"role":"admin","isAdmin":true},"$where":"1"}`)),
    ),
    refusing('wrong content type', (c, parts) =>
      fc
        .constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data',
          'application/xml',
          'application/json; charset=latin1',
        )
        .map((type) => setBody(c, validText(parts), type)),
    ),
    refusing('no content type', (c, parts) =>
      fc.constant(void ((c.body = validText(parts)), delete c.headers['content-type'])),
    ),
    refusing('content encoding that is not', (c, parts) =>
      fc.constantFrom('gzip', 'deflate', 'br').map((encoding) => {
        setBody(c, validText(parts));
        c.headers['content-encoding'] = encoding;
      }),
    ),
  ];
}

/** A 1×1 PNG: the smallest upload the media pipeline accepts. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

function multipart(boundary: string, field: string, files: Buffer[], name = 'f.png'): Buffer {
  const parts = files.flatMap((bytes) => [
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="${field}"; filename="${name}"\r\n` +
        'content-type: application/octet-stream\r\n\r\n',
    ),
    bytes,
    Buffer.from('\r\n'),
  ]);
  return Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]);
}

/** Uploads (multipart): valid ones carry a PNG or random bytes; refused ones are broken. */
function uploadCase(op: Operation, refuse: boolean): fc.Arbitrary<HttpCase> {
  const field = op.multipart ?? 'files';
  const boundary = 'fuzzboundary';
  const type = `multipart/form-data; boundary=${boundary}`;
  const bytes = fc.oneof(
    fc.constant(PNG),
    fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
  );
  const make = (mutation: string, headers: Record<string, string>, body: Buffer | string) => ({
    op,
    mustRefuse: refuse,
    mutation,
    identity: 'admin' as Identity,
    url: urlOf(op, { path: {}, query: [], body: undefined }),
    headers,
    body,
  });
  if (!refuse) {
    return fc
      .array(bytes, { minLength: 1, maxLength: 2 })
      .map((files) =>
        make('valid upload', { 'content-type': type }, multipart(boundary, field, files)),
      );
  }
  const whole = multipart(boundary, field, [PNG]);
  return fc.oneof(
    fc.constant(make('no files', { 'content-type': type }, `--${boundary}--\r\n`)),
    fc.constant(make('other field', { 'content-type': type }, multipart(boundary, 'x', [PNG]))),
    fc.constant(make('json instead', { ...JSON_TYPE }, '{"files":["x"]}')),
    fc.constant(make('no boundary', { 'content-type': 'multipart/form-data' }, whole)),
    fc.constant(make('other boundary', { 'content-type': `${type}x` }, whole)),
    // Cut before the closing delimiter is whole (its final CRLF alone is optional).
    fc
      .nat()
      .map((n) =>
        make(
          'truncated multipart',
          { 'content-type': type },
          whole.subarray(0, n % (whole.length - 2)),
        ),
      ),
    fc.constant({ ...make('no credentials', { 'content-type': type }, whole), identity: 'none' }),
  );
}

/** Bytes no HTTP client library would send: Node's parser refuses them before any route runs. */
export interface RawRequestCase {
  request: string;
  mutation: string;
}

export function rawRequestCase(): fc.Arbitrary<RawRequestCase> {
  const end = '\r\n\r\n';
  const post = (headers: string, body = '{}') =>
    `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}${end}${body}`;
  const cases: [string, fc.Arbitrary<string>][] = [
    [
      'headers over the limit',
      fc
        .tuple(fc.integer({ min: 17_000, max: 70_000 }), fc.boolean())
        .map(([n, inUrl]) =>
          inUrl
            ? `GET /api/user/list?q=${'a'.repeat(n)} HTTP/1.1\r\nHost: x${end}`
            : `GET /api/auth/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(n)}${end}`,
        ),
    ],
    [
      'malformed request line',
      fc
        .constantFrom(
          'GARBAGE',
          'GET',
          'GET /api/auth/me HTTP/9.9',
          'G\u0000T / HTTP/1.1',
          '\u0001\u0002',
        )
        .map((line) => `${line}${end}`),
    ],
    [
      'malformed Content-Length',
      fc.constantFrom('abc', '-1', '1e3', '0x10', '1, 2').map((v) => post(`Content-Length: ${v}`)),
    ],
    ['conflicting lengths', fc.constant(post('Content-Length: 2\r\nContent-Length: 3'))],
    [
      'smuggling: length and chunked',
      fc.constant(post('Content-Length: 4\r\nTransfer-Encoding: chunked', '0\r\n\r\n')),
    ],
    [
      'malformed chunk',
      fc
        .constantFrom('zz\r\n{}\r\n0\r\n\r\n', '2\r\n{}0\r\n\r\n', `${'f'.repeat(20)}\r\n{}`)
        .map((body) => post('Transfer-Encoding: chunked', body)),
    ],
    [
      'malformed header',
      fc
        .constantFrom('X-A\u0001: b', 'NoColon', ' Leading: space', 'X-A: b\u0000c')
        .map((header) => `GET /api/auth/me HTTP/1.1\r\nHost: x\r\n${header}${end}`),
    ],
  ];
  return fc.oneof(
    ...cases.map(([mutation, request]) => request.map((r) => ({ request: r, mutation }))),
  );
}

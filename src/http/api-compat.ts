import { z } from 'zod';
import { clientEvents, serverEvents } from '../contracts/socket.js';
import { CONTRACT_VERSIONS } from '../contracts/versions.js';

/**
 * Contract stability (issue 17): the socket contract as a document, and the breaking changes
 * between two versions of the OpenAPI or socket document. "Breaking" means an existing client
 * can fail: something it calls or receives disappears, a request it sends is refused, or a
 * response lacks (or changes the type of) something it reads. Additions are not breaking.
 */

type Json = Record<string, unknown>;
export type SocketDocument = ReturnType<typeof socketDocument>;

/** The Socket.IO contract as JSON Schema: payloads as clients send them, acks and events as sent. */
export function socketDocument() {
  const schema = (s: z.ZodType, io: 'input' | 'output') =>
    z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return {
    version: CONTRACT_VERSIONS.socket,
    clientEvents: Object.fromEntries(
      Object.entries(clientEvents).map(([name, e]) => [
        name,
        { payload: schema(e.payload, 'input'), ack: schema(e.ack, 'output') },
      ]),
    ),
    serverEvents: Object.fromEntries(
      Object.entries(serverEvents).map(([name, s]) => [name, schema(s, 'output')]),
    ),
  };
}

/** `a` < `b` as semantic versions. */
export function versionBumped(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i += 1) {
    if ((pb[i] ?? 0) !== (pa[i] ?? 0)) return (pb[i] ?? 0) > (pa[i] ?? 0);
  }
  return false;
}

/** One breaking change: `where` names the route (`POST /api/x`) or event, for the CHANGELOG. */
export interface Breaking {
  where: string;
  what: string;
}

type Direction = 'request' | 'response';

/** Compares JSON Schemas, each resolved against its own document for `$ref`s. */
class SchemaDiff {
  readonly found: string[] = [];
  constructor(
    private readonly oldRoot: unknown,
    private readonly newRoot: unknown,
  ) {}

  compare(a: unknown, b: unknown, dir: Direction, at: string, depth = 0): void {
    if (depth > 32) return;
    const before = deref(this.oldRoot, a);
    const after = deref(this.newRoot, b);
    if (!before || !after) return;
    const unionA = (before.anyOf ?? before.oneOf) as unknown[] | undefined;
    const unionB = (after.anyOf ?? after.oneOf) as unknown[] | undefined;
    if (unionA || unionB) return this.union(unionA ?? [before], unionB ?? [after], dir, at, depth);

    const typesA = types(before);
    const typesB = types(after);
    if (typesA && typesB) {
      const lost =
        dir === 'request'
          ? typesA.filter(
              (t) => !typesB.includes(t) && !(t === 'integer' && typesB.includes('number')),
            )
          : typesB.filter(
              (t) => !typesA.includes(t) && !(t === 'integer' && typesA.includes('number')),
            );
      if (lost.length) this.found.push(`${at}: type ${typesA.join('|')} → ${typesB.join('|')}`);
    }
    this.enumeration(before, after, dir, at);
    if (dir === 'request') this.constraints(before, after, at);

    const propsA = (before.properties ?? {}) as Json;
    const propsB = (after.properties ?? {}) as Json;
    const requiredA = (before.required ?? []) as string[];
    const requiredB = (after.required ?? []) as string[];
    if (dir === 'request') {
      for (const name of requiredB)
        if (!requiredA.includes(name)) this.found.push(`${at}.${name}: newly required`);
      if (after.additionalProperties === false)
        for (const name of Object.keys(propsA))
          if (!(name in propsB)) this.found.push(`${at}.${name}: no longer accepted`);
    } else {
      for (const name of requiredA)
        if (!requiredB.includes(name)) this.found.push(`${at}.${name}: no longer always present`);
    }
    for (const name of Object.keys(propsA))
      if (name in propsB) this.compare(propsA[name], propsB[name], dir, `${at}.${name}`, depth + 1);
    if (before.items && after.items)
      this.compare(before.items, after.items, dir, `${at}[]`, depth + 1);
  }

  /** Request: every shape accepted before still is. Response: every shape sent now was before. */
  private union(a: unknown[], b: unknown[], dir: Direction, at: string, depth: number): void {
    const [must, may] = dir === 'request' ? [a, b] : [b, a];
    const fits = (x: unknown, y: unknown) => {
      const probe = new SchemaDiff(this.oldRoot, this.newRoot);
      if (dir === 'request') probe.compare(x, y, dir, at, depth + 1);
      else probe.compare(y, x, dir, at, depth + 1);
      return probe.found.length === 0;
    };
    must.forEach((x, i) => {
      if (!may.some((y) => fits(x, y)))
        this.found.push(
          dir === 'request'
            ? `${at}: variant ${i + 1} is no longer accepted`
            : `${at}: a new variant (${i + 1}) may be sent`,
        );
    });
  }

  private enumeration(a: Json, b: Json, dir: Direction, at: string): void {
    const valuesA = (a.enum ?? ('const' in a ? [a.const] : undefined)) as unknown[] | undefined;
    const valuesB = (b.enum ?? ('const' in b ? [b.const] : undefined)) as unknown[] | undefined;
    if (dir === 'request') {
      if (!valuesB) return;
      const dropped = (valuesA ?? ['(any)']).filter((v) => !valuesB.includes(v));
      if (dropped.length) this.found.push(`${at}: no longer accepts ${JSON.stringify(dropped)}`);
    } else {
      if (!valuesA) return;
      const added = (valuesB ?? ['(any)']).filter((v) => !valuesA.includes(v));
      if (added.length) this.found.push(`${at}: may now be ${JSON.stringify(added)}`);
    }
  }

  /** A request limit that tightened (or appeared) refuses what was accepted before. */
  private constraints(a: Json, b: Json, at: string): void {
    const lower = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'];
    const upper = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'];
    for (const key of lower) {
      const [x, y] = [a[key] as number | undefined, b[key] as number | undefined];
      if (y !== undefined && (x === undefined || y > x))
        this.found.push(`${at}: ${key} ${x} → ${y}`);
    }
    for (const key of upper) {
      const [x, y] = [a[key] as number | undefined, b[key] as number | undefined];
      if (y !== undefined && (x === undefined || y < x))
        this.found.push(`${at}: ${key} ${x} → ${y}`);
    }
    for (const key of ['pattern', 'format'])
      if (b[key] !== undefined && b[key] !== a[key])
        this.found.push(`${at}: ${key} ${JSON.stringify(a[key])} → ${JSON.stringify(b[key])}`);
  }
}

function deref(root: unknown, schema: unknown): Json | null {
  let current = schema as Json | undefined;
  for (let hops = 0; current && typeof current.$ref === 'string' && hops < 16; hops += 1) {
    const path = current.$ref.replace(/^#\//, '').split('/');
    current = path.reduce<unknown>(
      (node, key) => (node as Json | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')],
      root,
    ) as Json | undefined;
  }
  return current && typeof current === 'object' ? current : null;
}

function types(schema: Json): string[] | null {
  const t = schema.type;
  if (t === undefined) return null;
  return Array.isArray(t) ? (t as string[]) : [t as string];
}

interface Operation {
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  security?: unknown[];
}
type OpenApi = { paths?: Record<string, Record<string, Operation>> };

const jsonSchema = (content: Record<string, { schema?: unknown }> | undefined) =>
  content?.['application/json']?.schema;

/** What an OpenAPI document changed that existing clients can trip over. */
export function openApiBreakingChanges(before: unknown, after: unknown): Breaking[] {
  const out: Breaking[] = [];
  const oldPaths = (before as OpenApi).paths ?? {};
  const newPaths = (after as OpenApi).paths ?? {};
  for (const [path, methods] of Object.entries(oldPaths)) {
    for (const [method, oldOp] of Object.entries(methods)) {
      const where = `${method.toUpperCase()} ${path}`;
      const newOp = newPaths[path]?.[method];
      if (!newOp) {
        out.push({ where, what: 'removed' });
        continue;
      }
      const diff = new SchemaDiff(before, after);
      if (!oldOp.security?.length && newOp.security?.length) diff.found.push('now needs a token');
      const oldParams = new Map((oldOp.parameters ?? []).map((p) => [`${p.in}:${p.name}`, p]));
      for (const p of newOp.parameters ?? []) {
        const old = oldParams.get(`${p.in}:${p.name}`);
        if (!old) {
          if (p.required) diff.found.push(`${p.in} ${p.name}: newly required`);
          continue;
        }
        if (p.required && !old.required) diff.found.push(`${p.in} ${p.name}: newly required`);
        diff.compare(old.schema, p.schema, 'request', `${p.in} ${p.name}`);
      }
      const oldBody = jsonSchema(oldOp.requestBody?.content);
      const newBody = jsonSchema(newOp.requestBody?.content);
      if (newBody && !oldBody && newOp.requestBody?.required)
        diff.found.push('body: newly required');
      if (oldBody && newBody) diff.compare(oldBody, newBody, 'request', 'body');
      for (const [status, response] of Object.entries(oldOp.responses ?? {})) {
        if (!status.startsWith('2')) continue;
        const next = newOp.responses?.[status];
        if (!next) {
          diff.found.push(`${status}: no longer answered`);
          continue;
        }
        const a = jsonSchema(response.content);
        const b = jsonSchema(next.content);
        if (a && !b) diff.found.push(`${status}: no longer has a body`);
        if (a && b) diff.compare(a, b, 'response', status);
      }
      out.push(...diff.found.map((what) => ({ where, what })));
    }
  }
  return out;
}

/** What a socket document changed that existing clients can trip over. */
export function socketBreakingChanges(before: SocketDocument, after: SocketDocument): Breaking[] {
  const out: Breaking[] = [];
  for (const [name, event] of Object.entries(before.clientEvents)) {
    const next = after.clientEvents[name];
    if (!next) {
      out.push({ where: name, what: 'client event removed' });
      continue;
    }
    const payload = new SchemaDiff(event.payload, next.payload);
    payload.compare(event.payload, next.payload, 'request', 'payload');
    const ack = new SchemaDiff(event.ack, next.ack);
    ack.compare(event.ack, next.ack, 'response', 'ack');
    out.push(...[...payload.found, ...ack.found].map((what) => ({ where: name, what })));
  }
  for (const [name, schema] of Object.entries(before.serverEvents)) {
    const next = after.serverEvents[name];
    if (!next) {
      out.push({ where: name, what: 'server event removed' });
      continue;
    }
    const diff = new SchemaDiff(schema, next);
    diff.compare(schema, next, 'response', 'payload');
    out.push(...diff.found.map((what) => ({ where: name, what })));
  }
  return out;
}

/**
 * The CHANGELOG section of one contract version (`## REST 0.2.0` / `## Socket 0.2.0` up to the
 * next `## `), or null.
 */
export function changelogSection(changelog: string, kind: 'REST' | 'Socket', version: string) {
  const lines = changelog.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${kind} ${version}`);
  if (start < 0) return null;
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/**
 * The verdict on a contract change: breaking changes pass only with a version bump and a
 * CHANGELOG section for the new version that names each changed route or event.
 */
export function contractVerdict(input: {
  kind: 'REST' | 'Socket';
  breaking: Breaking[];
  oldVersion: string;
  newVersion: string;
  changelog: string;
}): string[] {
  const { kind, breaking, oldVersion, newVersion, changelog } = input;
  if (breaking.length === 0) return [];
  const list = breaking.map((b) => `  ${b.where}: ${b.what}`).join('\n');
  if (!versionBumped(oldVersion, newVersion))
    return [
      `${kind} contract: breaking changes without a version bump (still ${newVersion}; bump ` +
        `CONTRACT_VERSIONS.${kind.toLowerCase()} in src/contracts/versions.ts and add ` +
        `"## ${kind} <version>" to docs/api/CHANGELOG.md):\n${list}`,
    ];
  const section = changelogSection(changelog, kind, newVersion);
  if (section === null)
    return [
      `${kind} contract ${newVersion}: docs/api/CHANGELOG.md has no "## ${kind} ${newVersion}"`,
    ];
  const unlisted = breaking.filter((b) => !section.includes(b.where));
  return unlisted.length
    ? [
        `${kind} contract ${newVersion}: the CHANGELOG section does not name:\n` +
          unlisted.map((b) => `  ${b.where}: ${b.what}`).join('\n'),
      ]
    : [];
}

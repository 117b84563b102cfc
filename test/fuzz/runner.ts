import { appendFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import { clientEvents, type ClientEvent } from '../../src/contracts/socket.js';
import { socketDocument } from '../../src/http/api-compat.js';
import { http, type Registered } from '../support/http.js';
import { emitWithAck, type ClientSocket } from '../support/sockets.js';
import {
  operationsOf,
  refusedCase,
  schemaHints,
  validCase,
  type HttpCase,
  type Identity,
  type OpenApiDocument,
} from './http-cases.js';
import { kindOf, type KnownIds } from './known-ids.js';
import type { JsonSchema } from './schema-arbitraries.js';
import { refusedSocketCase, validSocketCase, type SocketCase } from './socket-cases.js';
import { ackProblem, httpProblem, ResponseShapes, send } from './verdicts.js';

export type Drawn = { kind: 'http'; c: HttpCase } | { kind: 'socket'; c: SocketCase };

/** The Authorization header of each identity a case may send as. */
export class Credentials {
  constructor(
    private readonly url: string,
    private readonly admin: Registered,
    private readonly member: Registered,
    /** Logging out ends the session that sent it: only this user's sessions are spent. */
    private spare: Registered & { password: string },
  ) {}

  header(c: HttpCase): string | null {
    const logout = c.op.method === 'POST' && c.op.template === '/api/auth/logout';
    const bearer = (token: string) => `Bearer ${token}`;
    const headers: Record<Identity, () => string | null> = {
      admin: () => bearer(logout ? this.spare.accessToken : this.admin.accessToken),
      member: () => bearer(logout ? this.spare.accessToken : this.member.accessToken),
      none: () => null,
      garbage: () => 'Bearer not.a.token',
      forged: () => bearer(this.strangers().forged),
      unsigned: () => bearer(this.strangers().unsigned),
      basic: () => `Basic ${base64('admin:admin')}`,
    };
    return headers[c.identity]();
  }

  /** Tokens naming the admin that we never issued: signed with another key, or not at all. */
  strangers(): { forged: string; unsigned: string } {
    const claims = { sub: this.admin.user.id, typ: 'access', exp: 2e9 };
    return {
      forged: jwt.sign({ ...claims, sid: 'x' }, 'not-the-secret-'.repeat(3)),
      unsigned: `${base64('{"alg":"none","typ":"JWT"}')}.${base64(JSON.stringify(claims))}.`,
    };
  }

  /** After a logout went through: a fresh session of the spare user. */
  async renewSpare(): Promise<void> {
    const res = await http<{ accessToken: string }>(this.url, 'POST', '/api/auth/login', {
      body: { login: this.spare.user.username, password: this.spare.password },
    });
    this.spare = { ...this.spare, accessToken: res.body.accessToken };
  }
}

const base64 = (text: string) => Buffer.from(text).toString('base64url');

/**
 * Draws cases for every operation of the document and every client event of the contract, sends
 * them (HTTP over keep-alive connections, events over one socket), and judges each outcome.
 */
export class Fuzzer {
  sent = 0;
  /** HTTP answers by class (`2xx`, `4xx`), for the printed summary. */
  readonly answers = new Map<string, number>();
  private readonly agent: Agent;
  private readonly shapes: ResponseShapes;

  constructor(
    private readonly deps: {
      url: string;
      doc: OpenApiDocument;
      known: KnownIds;
      credentials: Credentials;
      socket: ClientSocket;
      concurrency: number;
      /** When set, problems are appended here instead of failing (a survey of the app). */
      survey: string | undefined;
    },
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: deps.concurrency });
    this.shapes = new ResponseShapes(deps.doc);
  }

  arbitrary(kind: 'valid' | 'refused'): fc.Arbitrary<Drawn> {
    const hints = schemaHints(this.deps.doc, this.deps.known);
    const events = Object.entries(socketDocument().clientEvents) as [
      ClientEvent,
      { payload: JsonSchema },
    ][];
    const routes = operationsOf(this.deps.doc).map((op) =>
      (kind === 'valid' ? validCase(op, hints) : refusedCase(op, hints)).map((c): Drawn => ({
        kind: 'http',
        c,
      })),
    );
    const socket = events.map(([event, { payload }]) =>
      (kind === 'valid'
        ? validSocketCase(event, payload, hints)
        : refusedSocketCase(event, payload, hints)
      ).map((c): Drawn => ({ kind: 'socket', c })),
    );
    // Each route and each event about equally often.
    return fc.oneof(...[...routes, ...socket].map((arbitrary) => ({ arbitrary, weight: 1 })));
  }

  /** Runs a batch with bounded concurrency; returns its problems, each with its case. */
  async run(batch: Drawn[]): Promise<string[]> {
    const problems: string[] = [];
    let next = 0;
    const worker = async () => {
      for (let drawn = batch[next++]; drawn; drawn = batch[next++]) {
        const problem = drawn.kind === 'http' ? await this.http(drawn.c) : await this.emit(drawn.c);
        if (problem) problems.push(`${problem}\n    case: ${describeCase(drawn)}`);
      }
    };
    await Promise.all(Array.from({ length: this.deps.concurrency }, worker));
    if (this.deps.survey && problems.length) {
      await appendFile(this.deps.survey, problems.map((p) => `${p}\n`).join(''));
      return [];
    }
    return problems;
  }

  close(): void {
    this.agent.destroy();
  }

  private async http(c: HttpCase): Promise<string | null> {
    const { url, known, credentials } = this.deps;
    const outcome = await send(url, this.agent, c, credentials.header(c));
    this.sent += 1;
    const answered = `${Math.floor(outcome.status / 100)}xx`;
    this.answers.set(answered, (this.answers.get(answered) ?? 0) + 1);
    if (outcome.status < 300 && c.op.template === '/api/auth/logout')
      await credentials.renewSpare();
    if (outcome.status < 300 && outcome.contentType.startsWith('application/json')) {
      // What a route returns is named by its last segment (`…/messages/{messageId}`: messages).
      const returns = /(\w+)(\/\{\w+\})*$/.exec(c.op.template)?.[1] ?? '';
      known.harvest(JSON.parse(outcome.text), kindOf(returns));
    }
    return httpProblem(c, outcome, this.shapes);
  }

  private async emit(c: SocketCase): Promise<string | null> {
    const ack = await emitWithAck(this.deps.socket, c.event, c.payload, 10_000).catch(
      (error: unknown) => error,
    );
    this.sent += 1;
    this.deps.known.harvest(ack, null);
    return ackProblem(c.mustRefuse, ack, clientEvents[c.event].ack);
  }
}

/**
 * Runs a property without fast-check's counterexample printing (it recurses into the deep
 * payloads and overflows the stack); failures carry their own description of the cases.
 */
export async function holds<T>(
  property: fc.IAsyncProperty<T>,
  options: { seed: number; numRuns: number },
): Promise<void> {
  const details = await fc.check(property, { ...options, endOnFailure: true });
  if (!details.failed) return;
  const cause = details.errorInstance;
  const why = cause instanceof Error ? cause.message : String(cause);
  throw new Error(`seed ${options.seed}, path ${details.counterexamplePath}: ${why}`, { cause });
}

function describeCase(drawn: Drawn): string {
  const cut = (s: unknown) => {
    const text = typeof s === 'string' ? s : (JSON.stringify(s) ?? String(s));
    return text.length > 300 ? `${text.slice(0, 300)}… (${text.length} chars)` : text;
  };
  if (drawn.kind === 'socket') {
    const { event, mutation, payload } = drawn.c;
    return `emit ${event} [${mutation}] ${cut(payload)}`;
  }
  const { op, mutation, identity, url, headers, body } = drawn.c;
  const text = body === null ? '' : String(body);
  return `${op.method} ${url} [${mutation}, ${identity}] ${cut(headers)} ${cut(text)}`;
}

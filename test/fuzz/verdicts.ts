import { request as httpRequest, Agent } from 'node:http';
import { z } from 'zod';
import { AckError } from '../../src/contracts/socket.js';
import { AppError, type ErrorCode } from '../../src/errors.js';
import type { HttpCase, OpenApiDocument } from './http-cases.js';
import type { JsonSchema } from './schema-arbitraries.js';

/** What came back for one request. */
export interface HttpOutcome {
  status: number;
  contentType: string;
  text: string;
}

/**
 * Sends one case over a keep-alive agent; headers and bytes go out exactly as drawn. A reused
 * connection the server closed as idle just as it was picked is retried once (Node's advice).
 */
export async function send(
  baseUrl: string,
  agent: Agent,
  c: HttpCase,
  authorization: string | null,
): Promise<HttpOutcome> {
  try {
    return await sendOnce(baseUrl, agent, c, authorization);
  } catch (error) {
    const { code, reused } = error as { code?: string; reused?: boolean };
    if (code !== 'ECONNRESET' || !reused) throw error;
    return sendOnce(baseUrl, agent, c, authorization);
  }
}

function sendOnce(
  baseUrl: string,
  agent: Agent,
  c: HttpCase,
  authorization: string | null,
): Promise<HttpOutcome> {
  const url = new URL(baseUrl);
  const headers: Record<string, string | number> = { ...c.headers };
  if (authorization) headers.authorization = authorization;
  if (c.body !== null) headers['content-length'] = Buffer.byteLength(c.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: c.op.method, path: c.url, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (error) => reject(Object.assign(error, { reused: req.reusedSocket })));
    req.end(c.body ?? undefined);
  });
}

/** SPEC §7: exactly `{error: {code, message, details?}}`, the code's status the one sent. */
const ErrorBodyExact = z.strictObject({
  error: z.strictObject({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

function statusOfCode(code: string): number | undefined {
  return new AppError(code as ErrorCode, '').status;
}

/** Why an error body breaks SPEC §7, or null. */
export function errorBodyProblem(status: number, contentType: string, text: string): string | null {
  if (!contentType.startsWith('application/json')) return `error with content-type ${contentType}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'error body is not JSON';
  }
  const parsed = ErrorBodyExact.safeParse(body);
  if (!parsed.success) return `error body is not {error: {code, message, details?}}`;
  const expected = statusOfCode(parsed.data.error.code);
  if (expected !== status) return `code ${parsed.data.error.code} sent with status ${status}`;
  if (/\n\s+at /.test(text)) return 'error body carries a stack trace';
  return null;
}

/** Checks a response against its route's documented success bodies, compiled once each. */
export class ResponseShapes {
  private readonly compiled = new Map<string, z.ZodType>();
  constructor(private readonly doc: OpenApiDocument) {}

  problem(c: HttpCase, outcome: HttpOutcome): string | null {
    const documented = c.op.responses[String(outcome.status)];
    if (!documented) return `status ${outcome.status} is not documented for this route`;
    if (documented.binary || !documented.schema) return null;
    let body: unknown;
    try {
      body = JSON.parse(outcome.text);
    } catch {
      return 'success body is not JSON';
    }
    const result = this.schema(
      `${c.op.method} ${c.op.template} ${outcome.status}`,
      documented.schema,
    ).safeParse(body);
    if (result.success) return null;
    const issue = result.error.issues[0];
    return `body does not match the documented schema at ${issue?.path.join('.')}: ${issue?.message}`;
  }

  private schema(key: string, schema: JsonSchema): z.ZodType {
    let compiled = this.compiled.get(key);
    if (!compiled) {
      // zod reads local `$defs`; the document's references point into components.
      const local = (v: unknown) =>
        JSON.parse(JSON.stringify(v).replaceAll('#/components/schemas/', '#/$defs/')) as object;
      compiled = z.fromJSONSchema({
        ...local(schema),
        $defs: local(this.doc.components.schemas),
      } as Parameters<typeof z.fromJSONSchema>[0]);
      this.compiled.set(key, compiled);
    }
    return compiled;
  }
}

/** The problem with one HTTP outcome, or null when it is what SPEC §7 and the document ask. */
export function httpProblem(
  c: HttpCase,
  outcome: HttpOutcome,
  shapes: ResponseShapes,
): string | null {
  if (outcome.status >= 500) return `answered ${outcome.status}: ${outcome.text.slice(0, 200)}`;
  if (outcome.status === 415 && !c.body) return 'refused an empty body as an unsupported type';
  if (outcome.status >= 400)
    return errorBodyProblem(outcome.status, outcome.contentType, outcome.text);
  if (c.mustRefuse) return `accepted (${outcome.status}) an input it must refuse`;
  if (outcome.status >= 300) return null;
  return shapes.problem(c, outcome);
}

/** The problem with one socket ack, or null. `ack` is what came back (or an Error on timeout). */
export function ackProblem(mustRefuse: boolean, ack: unknown, okShape: z.ZodType): string | null {
  if (ack instanceof Error) return `no ack: ${ack.message}`;
  const refusal = AckError.strict().safeParse(ack);
  if (refusal.success) {
    const status = statusOfCode(refusal.data.error.code) ?? 0;
    if (status >= 500 || status === 0) return `refused with ${refusal.data.error.code}`;
    return null;
  }
  if (mustRefuse) return 'accepted a payload it must refuse';
  const { ok, ...rest } = (ack ?? {}) as { ok?: unknown };
  if (ok !== true)
    return `ack is neither {ok: true, ...} nor {ok: false, error}: ${JSON.stringify(ack)}`;
  const result = okShape.safeParse(rest);
  return result.success
    ? null
    : `ack does not match the contract: ${result.error.issues[0]?.message}`;
}

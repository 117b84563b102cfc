import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { AuthContext } from '../contracts/auth.js';
import { ErrorBody } from '../contracts/common.js';
import type { Logger } from '../logger.js';

/** Who may call a route. `user` and `admin` routes receive a verified AuthContext. */
export type Access = 'public' | 'user' | 'admin';

/**
 * What a route may answer: per status, a body of that status's schema (none without one), or
 * bytes (`binary`: the handler returns a BinaryBody, streamed as is).
 */
export type Responses = Record<number, { description: string; schema?: Schema; binary?: true }>;

/** Response bytes streamed to the client; the reply's `headers` say what they are. */
export class BinaryBody {
  constructor(readonly stream: Readable) {}
}

/** Extra response headers (ETag, Content-Type of bytes, caching). */
type WithHeaders = { headers?: Record<string, string> };

export type Reply<R extends Responses = Responses> = number extends keyof R
  ? { status: number; body?: unknown } & WithHeaders // a list of routes, each route's types erased
  : {
      [S in keyof R & number]: (R[S] extends { binary: true }
        ? { status: S; body: BinaryBody }
        : R[S] extends { schema: infer T extends Schema }
          ? { status: S; body: z.input<T> }
          : { status: S; body?: undefined }) &
        WithHeaders;
    }[keyof R & number];

/** A documented error status; every error has the same body (SPEC §7). */
export function errorResponse(description: string) {
  return { description, schema: ErrorBody };
}

/** Named limiters a route can ask for on top of the API-wide one. */
export type RouteLimit = 'auth' | 'messages' | 'uploads';

export interface RouteContext<A extends Access, B, Q, P> {
  body: B;
  query: Q;
  params: P;
  auth: A extends 'public' ? AuthContext | null : AuthContext;
  ip: string;
  log: Logger;
  /** The raw request, for routes that stream their body themselves (multipart uploads). */
  request: IncomingMessage;
}

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteDef<
  A extends Access = Access,
  B extends Schema | undefined = Schema | undefined,
  Q extends Schema | undefined = Schema | undefined,
  P extends Schema | undefined = Schema | undefined,
  R extends Responses = Responses,
> {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Express syntax (`/api/conversations/:id`); OpenAPI paths are derived from it. */
  path: string;
  summary: string;
  tag: string;
  access: A;
  limit?: RouteLimit;
  body?: B;
  /** The body is multipart/form-data read by the handler from `request`; documented as such. */
  multipart?: { field: string; description: string };
  query?: Q;
  params?: P;
  responses: R;
  /** Typed by `responses`: a body that does not match its status's schema does not compile. */
  handler(ctx: RouteContext<A, Out<B>, Out<Q>, Out<P>>): Promise<Reply<R>>;
}

/**
 * Declares a route once: the same schemas validate input at the edge and describe the route in
 * OpenAPI. Handlers are parse → service → respond; parsing has already happened when they run.
 */
export function route<
  A extends Access,
  B extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  P extends Schema | undefined = undefined,
  const R extends Responses = Responses,
>(def: RouteDef<A, B, Q, P, NoInfer<R>> & { responses: R }): RouteDef {
  return def;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import type { z } from 'zod';
import { errors, isAppError, toClientError, type AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { requestLimits, type Limit } from '../infra/rate-limits.js';
import { buildOpenApi } from './openapi.js';
import type { Metrics } from '../infra/metrics.js';
import { serveMetrics } from '../infra/metrics-server.js';
import type { AuthContext } from '../contracts/auth.js';
import { BinaryBody, type RouteDef } from './route.js';
import { observeRequests, requestLog } from './observe.js';
import { pipeline } from 'node:stream/promises';
import { hash } from 'node:crypto';

export interface HttpAppDeps {
  logger: Logger;
  routes: RouteDef[];
  corsOrigins: readonly string[];
  bodyLimit: string;
  trustProxy: number;
  /** Signature and expiry only (synchronous); revocation is checked by `admit`. */
  verifyToken(token: string): AuthContext;
  /**
   * Counts the request against `limits` and, for a signed-in caller, checks that the token's
   * session was not revoked (unauthorized) — one Redis call.
   */
  admit(auth: AuthContext | null, limits: readonly Limit[]): Promise<void>;
  requireAdmin(auth: AuthContext): Promise<void>;
  health: { live(): Promise<unknown>; ready(): Promise<{ ok: boolean }> };
  /** GET /metrics and the HTTP histogram. */
  metrics?: { registry: Metrics; token: string | undefined };
  /** The built web UI (chat at /, dashboard at /admin), when there is one. */
  web?: express.Router | null;
  /** Reported to Sentry when configured. */
  reportError?: (error: unknown) => void;
}

export function buildHttpApp(deps: HttpAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  app.use(observeRequests(deps.logger, deps.metrics?.registry));
  if (deps.metrics) {
    const { registry, token } = deps.metrics;
    app.get('/metrics', (req, res) => serveMetrics(registry, token, req, res));
  }
  app.set('etag', weakETag);
  app.use(standardHeaders(deps.corsOrigins));
  const json = express.json({ limit: deps.bodyLimit });
  // A request with neither header has no body (the parser's own test): most, every GET among
  // them, skip its checks and debug calls. `content-length: 0` still goes through, as before.
  app.use((req, res, next) =>
    req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined
      ? next()
      : json(req, res, next),
  );

  app.get('/health/live', async (_req, res) => void res.json(await deps.health.live()));
  app.get('/health/ready', async (_req, res) => {
    const report = await deps.health.ready();
    res.status(report.ok ? 200 : 503).json(report);
  });

  const openApi = buildOpenApi(deps.routes);
  app.get('/api/openapi.json', (_req, res) => void res.json(openApi));
  app.use('/api/docs', swaggerUi.serve, swaggerUi.setup(openApi));

  for (const def of deps.routes) app[def.method](def.path, handle(def, deps));

  if (deps.web) app.use(deps.web);
  app.use((_req, _res, next) => next(errors.notFound('Route')));
  app.use(errorHandler(deps));
  return app;
}

/**
 * Helmet's headers, and CORS's for a request without `Origin` (every native client and the
 * benchmarks' load), worked out once: with these options they do not depend on the request (no
 * CSP nonces), so such a response gets one prepared list instead of helmet's thirteen middlewares
 * and the cors package's per-request option copies and callbacks. A request with `Origin`, a
 * preflight, or one that already varies on something goes through `cors` itself.
 */
function standardHeaders(corsOrigins: readonly string[]) {
  const security = headersOf(
    helmet({
      contentSecurityPolicy: {
        // Helmet's strict defaults (scripts from this origin only, no inline scripts), plus
        // blob: images: the web client shows attachments fetched with the bearer token as Blobs.
        directives: { 'img-src': ["'self'", 'data:', 'blob:'] },
      },
    }),
    {},
  );
  const corsFull = cors({ origin: [...corsOrigins], credentials: true });
  const corsWithoutOrigin = headersOf(corsFull, { method: 'GET', headers: {} });
  const prepared = [...security, ...corsWithoutOrigin];
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.headers.origin !== undefined || req.method === 'OPTIONS' || res.hasHeader('vary')) {
      for (const [name, value] of security) res.setHeader(name, value);
      corsFull(req, res, next);
      return;
    }
    for (const [name, value] of prepared) res.setHeader(name, value);
    next();
  };
}

/** The headers a request-independent middleware sets, run once against a stand-in request. */
function headersOf(
  middleware: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void,
  req: Partial<IncomingMessage>,
): [string, string][] {
  const headers: [string, string][] = [];
  const collector = {
    setHeader: (name: string, value: string) => void headers.push([name, value]),
    getHeader: () => undefined,
    removeHeader: () => undefined, // X-Powered-By: disabled on the app already
  };
  let done = false;
  let failure: unknown = null;
  middleware(req as IncomingMessage, collector as unknown as ServerResponse, (error?: unknown) => {
    done = true;
    failure = error ?? null;
  });
  if (!done || failure !== null || headers.length === 0) {
    throw new Error('fixed response headers unavailable');
  }
  return headers;
}

/**
 * Express's default weak ETag (`W/"<length>-<sha1 base64, 27 chars>"`, the etag package's, same
 * value), hashed one-shot (`crypto.hash`) instead of through a Hash object per response.
 */
function weakETag(body: Buffer | string, encoding?: BufferEncoding): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, encoding) : body;
  return `W/"${bytes.length.toString(16)}-${hash('sha1', bytes, 'base64').slice(0, 27)}"`;
}

/** auth → rate limits → validation → handler → response, the same for every route. */
function handle(def: RouteDef, deps: HttpAppDeps) {
  return async (req: Request, res: Response) => {
    const auth = def.access === 'public' ? null : deps.verifyToken(bearerToken(req));
    const ip = req.ip ?? 'unknown';
    await deps.admit(auth, requestLimits(def.limit, auth?.userId ?? null, ip));
    if (auth && def.access === 'admin') await deps.requireAdmin(auth);
    // A body in another type was never parsed: to a route whose body is optional it would look
    // like no body at all, and the route would run on its defaults. An empty body (fetch sends
    // `content-length: 0` with no type for a POST without one) is no body.
    if (def.body && hasContent(req) && req.is('application/json') === false) {
      throw errors.unsupportedMediaType('Send the body as application/json');
    }
    const reply = await def.handler({
      body: parse(def.body, req.body, 'body'),
      query: parse(def.query, req.query, 'query'),
      params: parse(def.params, req.params, 'params'),
      auth: auth,
      ip,
      get log() {
        return requestLog(req);
      },
      request: req,
    });
    res.status(reply.status);
    if (reply.headers) res.set(reply.headers);
    if (reply.body instanceof BinaryBody) await pipeline(reply.body.stream, res);
    else if (reply.body === undefined) res.end();
    else res.json(reply.body);
  };
}

/** Bytes follow the headers: chunked, or a non-zero length. */
function hasContent(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw errors.validation(
    result.error.issues.map((i) => ({ in: where, path: i.path.join('.'), message: i.message })),
  );
}

export function bearerToken(req: Pick<Request, 'headers'>): string {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer ([\w.-]+)$/i.exec(header) : null;
  if (!match?.[1]) throw errors.unauthorized();
  return match[1];
}

/** The one place errors become responses. */
function errorHandler(deps: HttpAppDeps) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const clientMistake = fromClientMistake(error);
    const appError = clientMistake ?? toClientError(error);
    // Only our own failures are errors worth a stack trace and a report; a client's malformed
    // request is logged at info like any other 4xx (observeRequests).
    if (!isAppError(error) && !clientMistake) {
      requestLog(req).error({ err: error }, 'unhandled error');
      deps.reportError?.(error);
    }
    if (appError.retryAfter) res.setHeader('retry-after', String(appError.retryAfter));
    res.status(appError.status).json(appError.toBody());
  };
}

/**
 * Requests broken before any route runs: the body parser's errors (too large, not JSON, an
 * unsupported charset or content encoding, a body that does not decompress) and the router's
 * (a path whose percent-encoding is malformed). All carry a 4xx status from http-errors.
 */
function fromClientMistake(error: unknown): AppError | null {
  if (isAppError(error) || typeof error !== 'object' || error === null) return null;
  // The router could not percent-decode a path parameter (`%F0%9F` alone is not UTF-8).
  if (error instanceof URIError) return errors.validation(null, 'Malformed URL encoding');
  const { type, status } = error as { type?: unknown; status?: unknown };
  if (type === 'entity.too.large') return errors.tooLarge();
  if (type === 'entity.parse.failed') return errors.malformedJson();
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  if (status === 415) {
    return errors.unsupportedMediaType(
      type === 'charset.unsupported'
        ? 'Unsupported charset: send JSON as UTF-8'
        : 'Unsupported content encoding (gzip, deflate, br or identity)',
    );
  }
  if (status === 413) return errors.tooLarge();
  return errors.badRequest('Malformed request: the body could not be read as sent');
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.js';
import type { Metrics } from '../infra/metrics.js';

const REQUEST_ID = /^[\w-]{1,64}$/;
const observed = Symbol('observed');

/** What the request observer keeps on a request. */
interface Observed {
  id: string;
  root: Logger;
  log: Logger | null;
  started: number;
}

type ObservedRequest = IncomingMessage & {
  [observed]?: Observed;
  route?: unknown;
  baseUrl?: string;
};

/**
 * The request's id (a valid `x-request-id` from the client, else a fresh UUID, echoed in the
 * response), its access log line when the response is done (5xx at error, 4xx at info, the rest
 * at debug) and the duration histogram labelled by route template. One `close` listener per
 * request, and the request's child logger is made only when something is logged through it:
 * pino-http made one and serialised `req` for every request, though 2xx lines are dropped at the
 * default level.
 */
export function observeRequests(logger: Logger, metrics: Metrics | undefined) {
  // One listener for every response (`this` is the response), not a closure per request.
  function done(this: ServerResponse) {
    const req = this.req as ObservedRequest;
    const state = req[observed];
    if (!state) return;
    const seconds = (performance.now() - state.started) / 1000;
    const status = this.statusCode;
    if (metrics) {
      metrics.httpDuration.observe(
        { method: req.method ?? '', route: routeOf(req), status: String(status) },
        seconds,
      );
    }
    const completed = this.writableFinished;
    const level = !completed ? 'info' : status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
    if (!logger.isLevelEnabled(level)) return;
    requestLog(req)[level](
      { res: { statusCode: status }, responseTime: Math.round(seconds * 1000) },
      completed ? 'request completed' : 'request aborted',
    );
  }
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const started = performance.now();
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', id);
    (req as ObservedRequest)[observed] = { id, root: logger, log: null, started };
    // 'close' is emitted once per response: `on`, without `once`'s wrapper.
    res.on('close', done);
    next();
  };
}

/** The logger of one request, carrying `req: {id, method, url}`; made on first use. */
export function requestLog(req: IncomingMessage): Logger {
  const state = (req as ObservedRequest)[observed];
  if (!state) throw new Error('requestLog: the request did not pass through observeRequests');
  state.log ??= state.root.child({ req: { id: state.id, method: req.method, url: req.url } });
  return state.log;
}

/**
 * The route template (`/api/conversations/:id`), known once Express matched a route; anything
 * unmatched is one `unmatched` series, so scanners cannot blow up the cardinality.
 */
function routeOf(req: ObservedRequest): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl ?? ''}${path}` : 'unmatched';
}

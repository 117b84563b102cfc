import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errors } from '../errors.js';
import type { Logger } from '../logger.js';
import { metricsAccessAllowed, type Metrics } from './metrics.js';

/**
 * Answers a scrape: the exposition, or 401 (SPEC §7 body) without the METRICS_TOKEN bearer.
 * The api serves it from Express; worker and scheduler from `startMetricsServer`.
 */
export async function serveMetrics(
  metrics: Metrics,
  token: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!metricsAccessAllowed(token, req.headers.authorization)) {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    res.end(JSON.stringify(errors.unauthorized('METRICS_TOKEN bearer required').toBody()));
    return;
  }
  const { contentType, body } = await metrics.exposition();
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/** Worker and scheduler have no HTTP server of their own: this one serves GET /metrics only. */
export async function startMetricsServer(
  metrics: Metrics,
  options: { port: number; host: string; token: string | undefined },
  logger: Logger,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(errors.notFound('Route').toBody()));
      return;
    }
    serveMetrics(metrics, options.token, req, res).catch((err: unknown) => {
      logger.error({ err }, 'metrics scrape failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ port }, 'metrics listening');
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';

/** Where `npm run build` puts the web UI (vite, web/vite.config.js): dist/web. */
export const WEB_DIR = fileURLToPath(new URL('../../web', import.meta.url));

const YEAR_SECONDS = 365 * 24 * 3600;

/**
 * The chat at `/` and the dashboard at `/admin`, same origin as the API. Assets have content
 * hashes in their names, so they are cached for a year; the pages themselves are revalidated on
 * every load so a deploy shows at once. Null when the UI was not built (API-only installs).
 */
export function webRoutes(dir = WEB_DIR): Router | null {
  if (!existsSync(join(dir, 'index.html'))) return null;
  const router = express.Router();
  const page = (file: string) => (_req: express.Request, res: express.Response) => {
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(join(dir, file));
  };
  router.get('/', page('index.html'));
  router.get(['/admin', '/admin/'], page('admin/index.html'));
  router.use(
    '/assets',
    express.static(join(dir, 'assets'), {
      immutable: true,
      maxAge: YEAR_SECONDS * 1000,
      index: false,
      fallthrough: true,
    }),
  );
  return router;
}

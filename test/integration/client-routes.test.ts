import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { routes } from '@parley/client';
import { startTestApp, type TestApp } from '../support/app.js';
import { http } from '../support/http.js';

interface OpenApi {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

/** `/api/x/{id}` → `/api/x/:id`, the SDK's (and Express's) spelling. */
const expressPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

// The SDK has one entry per server route (packages/client/src/routes.ts): a route added to the
// server without its one-line SDK entry fails here, naming it.
describe('@parley/client covers every REST route', () => {
  let app: TestApp;
  let served: { key: string; isPublic: boolean }[];

  before(async () => {
    app = await startTestApp();
    const doc = (await http<OpenApi>(app.url, 'GET', '/api/openapi.json')).body;
    served = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        key: `${method} ${expressPath(path)}`,
        isPublic: !op.security?.length,
      })),
    );
  });

  test('every server route has an SDK method, with the same access', () => {
    const sdk = new Map(
      Object.entries(routes).map(([name, r]) => [`${r.method} ${r.path}`, { name, ...r }]),
    );
    const missing = served.filter((s) => !sdk.has(s.key)).map((s) => s.key);
    assert.deepEqual(missing, [], 'add a line to packages/client/src/routes.ts for each');
    for (const s of served) {
      const entry = sdk.get(s.key);
      assert.equal(entry?.access === 'public', s.isPublic, `${entry?.name}: access`);
    }
  });

  test('every SDK method names a served route', () => {
    const keys = new Set(served.map((s) => s.key));
    const stale = Object.entries(routes)
      .filter(([, r]) => !keys.has(`${r.method} ${r.path}`))
      .map(([name]) => name);
    assert.deepEqual(stale, []);
  });
});

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { http } from '../support/http.js';
import { startTestApp, type TestApp } from '../support/app.js';

describe('platform', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });

  test('liveness and readiness report every dependency', async () => {
    assert.equal((await http(app.url, 'GET', '/health/live')).status, 200);
    const ready = await http<{ ok: boolean; checks: Record<string, string> }>(
      app.url,
      'GET',
      '/health/ready',
    );
    assert.equal(ready.status, 200);
    assert.equal(ready.body.ok, true);
    assert.equal(ready.body.checks.mongo, 'ok');
    assert.equal(ready.body.checks.redis, 'ok');
    assert.equal(ready.body.checks.rabbitmq, 'ok');
  });

  test('OpenAPI documents every API route, and Swagger UI is served', async () => {
    const doc = await http<{ paths: Record<string, Record<string, unknown>> }>(
      app.url,
      'GET',
      '/api/openapi.json',
    );
    assert.equal(doc.status, 200);
    const documented = Object.entries(doc.body.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const expected of [
      'POST /api/auth/register',
      'POST /api/auth/login',
      'POST /api/auth/refresh',
      'POST /api/auth/logout',
      'GET /api/auth/me',
      'PATCH /api/auth/me',
      'GET /api/user/list',
      'GET /api/user/online',
      'GET /api/user/online/count',
      'GET /api/user/{id}/online',
      'GET /api/conversations',
      'POST /api/conversations',
      'GET /api/conversations/{id}',
      'GET /api/conversations/{id}/messages',
      'POST /api/conversations/{id}/messages',
      'POST /api/conversations/{id}/read',
      'PATCH /api/conversations/{id}',
      'PATCH /api/conversations/{id}/messages/{messageId}',
      'DELETE /api/conversations/{id}/messages/{messageId}',
      'PUT /api/conversations/{id}/messages/{messageId}/reactions/{emoji}',
      'DELETE /api/conversations/{id}/messages/{messageId}/reactions/{emoji}',
      'POST /api/conversations/{id}/members',
      'PATCH /api/conversations/{id}/members/{userId}',
      'DELETE /api/conversations/{id}/members/{userId}',
      'GET /api/sync',
      'POST /api/admin/auto-messages/plan',
      'POST /api/admin/auto-messages/queue',
      'GET /api/admin/auto-messages/{id}',
      'GET /api/admin/jobs/runs',
      'GET /api/admin/queues',
    ]) {
      assert.ok(documented.includes(expected), `${expected} is documented`);
    }
    const ui = await fetch(`${app.url}/api/docs/`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /swagger-ui/i);
  });

  test('every response carries a request id and security headers', async () => {
    const res = await http(app.url, 'GET', '/health/live', {
      headers: { 'x-request-id': 'abc-123' },
    });
    assert.equal(res.headers.get('x-request-id'), 'abc-123');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-powered-by'), null);
    const generated = await http(app.url, 'GET', '/health/live');
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  test('CORS allows configured origins only', async () => {
    const allowed = await fetch(`${app.url}/health/live`, {
      headers: { origin: 'http://localhost:3000' },
    });
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    const denied = await fetch(`${app.url}/health/live`, {
      headers: { origin: 'https://evil.test' },
    });
    assert.equal(denied.headers.get('access-control-allow-origin'), null);
  });

  test('a request without Origin gets the same security and CORS headers as one with it', async () => {
    // Such requests take the prepared header list; the others run helmet's output and cors.
    const names = (res: Response) =>
      [...res.headers.keys()].filter((name) => !['date', 'x-request-id'].includes(name)).sort();
    const without = await fetch(`${app.url}/health/live`);
    const denied = await fetch(`${app.url}/health/live`, {
      headers: { origin: 'https://evil.test' },
    });
    assert.deepEqual(names(without), names(denied));
    for (const name of names(denied)) {
      assert.equal(without.headers.get(name), denied.headers.get(name), name);
    }
    assert.equal(without.headers.get('vary'), 'Origin');
    assert.equal(without.headers.get('access-control-allow-credentials'), 'true');
    assert.match(without.headers.get('etag') ?? '', /^W\/"[0-9a-f]+-[\w+/]{27}"$/);
  });
});

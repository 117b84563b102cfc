/**
 * The built web UI as the api serves it: pages revalidated, hashed assets cached for a year,
 * every script an external file under a CSP without inline scripts.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../support/app.js';

describe('web UI serving', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });

  for (const path of ['/', '/admin']) {
    test(`${path}: a page with external hashed assets under a strict CSP`, async () => {
      const page = await fetch(`${app.url}${path}`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(page.headers.get('cache-control'), 'no-cache');
      const csp = page.headers.get('content-security-policy') ?? '';
      const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
      assert.equal(scriptSrc.trim(), "'self'", 'scripts from this origin only, none inline');
      const html = await page.text();
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      assert.ok(scripts.length > 0);
      for (const [, attributes = '', body = ''] of scripts) {
        assert.match(attributes, /src="\/assets\/[\w-]+\.js"/, 'an external, hashed script');
        assert.equal(body.trim(), '', 'no inline script');
      }
      const asset = /src="(\/assets\/[\w-]+\.js)"/.exec(html)?.[1] ?? '';
      const res = await fetch(`${app.url}${asset}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('cache-control') ?? '', /max-age=31536000.*immutable/);
      await res.arrayBuffer();
    });
  }

  test('an unknown asset is a 404 with the error body, not a page', async () => {
    const res = await fetch(`${app.url}/assets/nope-123.js`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'not_found');
  });
});

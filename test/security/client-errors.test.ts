import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { pino } from 'pino';
import { isolatedEnv, registerAdmin, startTestApp, type TestApp } from '../support/app.js';
import { http, rawHttp, registerUser } from '../support/http.js';

/** Client mistakes must be 4xx with the SPEC §7 body, logged at info at most, never reported. */
describe('security: client mistakes are 4xx, not 500s in the error log', () => {
  let app: TestApp;
  let token: string;
  let adminToken: string;
  const lines: { level: number; msg?: string }[] = [];
  const reported: unknown[] = [];
  before(async () => {
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => void lines.push(JSON.parse(line) as { level: number }) },
    );
    const env = await isolatedEnv();
    app = await startTestApp(env, { logger, reportError: (error) => void reported.push(error) });
    token = (await registerUser(app.url)).accessToken;
    adminToken = (await registerAdmin(app.url, env)).accessToken;
  });

  const assertClientError = (res: { status: number; body: unknown }, status: number) => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    const error = (res.body as { error?: { code?: unknown; message?: unknown } }).error;
    assert.equal(typeof error?.code, 'string', JSON.stringify(res.body));
    assert.equal(typeof error?.message, 'string', JSON.stringify(res.body));
  };

  const raw = async (path: string, init: RequestInit) => {
    const res = await fetch(app.url + path, init);
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  };

  test('a malformed percent-encoding in the path is 400', async () => {
    assertClientError(await http(app.url, 'GET', '/api/conversations/%E0%A4%A', { token }), 400);
  });

  test('a JSON body in an unsupported charset is 415', async () => {
    const res = await raw('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=latin1' },
      body: JSON.stringify({ login: 'someone', password: 'something' }),
    });
    assertClientError(res, 415);
  });

  test('a body claiming gzip that is not gzip is 400', async () => {
    const res = await raw('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: 'this is not gzip at all',
    });
    assertClientError(res, 400);
  });

  // Found by the fuzzer: the plan route's body is optional, so a body it could not read ran the
  // plan on its defaults.
  test('a body in another content type is 415, even where the body is optional', async () => {
    const res = await raw('/api/admin/auto-messages/plan', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ sendDateFrom: '2030-01-01T00:00:00Z' }),
    });
    assertClientError(res, 415);
  });

  // Found while fuzzing: Node's HTTP parser answered these itself, a bare status line, no body.
  test('requests the HTTP parser refuses get the §7 body too (431, 400)', async () => {
    const cases: [string, number, string][] = [
      [
        `GET /api/user/list?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        431,
        'headers_too_large',
      ],
      [
        `GET /api/auth/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
        431,
        'headers_too_large',
      ],
      ['GARBAGE\r\n\r\n', 400, 'bad_request'],
      [
        'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
        400,
        'bad_request',
      ],
    ];
    for (const [request, status, code] of cases) {
      const res = await rawHttp(app.url, request);
      assert.equal(res?.status, status, request.slice(0, 60));
      assert.match(res.contentType, /^application\/json/);
      assertClientError({ status, body: JSON.parse(res.body) as unknown }, status);
      assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, code);
    }
  });

  test('none of them was logged as an error or reported', () => {
    const loud = lines.filter((l) => l.level >= 50);
    assert.deepEqual(
      loud.map((l) => l.msg),
      [],
      'client mistakes were logged at error level',
    );
    assert.equal(reported.length, 0, 'client mistakes were reported to Sentry');
  });
});

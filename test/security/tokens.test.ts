import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { http, registerUser } from '../support/http.js';
import { connectError } from '../support/sockets.js';
import { claimsOf, forgeAccess } from './support.js';

/** The fixed development secret earlier versions used: public, so anyone could sign with it. */
const OLD_PUBLIC_DEV_SECRET = 'parley-development-access-secret-do-not-use-in-production';

describe('security: access tokens are bound to their own session', () => {
  const secret = randomBytes(32).toString('hex');
  let app: TestApp;
  before(async () => {
    app = await startTestApp(
      await isolatedEnv({
        JWT_ACCESS_SECRET: secret,
        JWT_REFRESH_SECRET: randomBytes(32).toString('hex'),
      }),
    );
  });

  test('a token naming another user with my session id is refused on REST and sockets', async () => {
    const attacker = await registerUser(app.url);
    const victim = await registerUser(app.url);
    const forged = forgeAccess(secret, {
      sub: victim.user.id,
      sid: claimsOf(attacker.accessToken).sid,
    });
    const me = await http(app.url, 'GET', '/api/auth/me', { token: forged });
    assert.equal(me.status, 401, `borrowed session answered ${me.status}`);
    assert.equal(await connectError(app.url, forged), 'unauthorized');
    // The attacker's own token still works: only the borrowing is refused.
    const own = await http(app.url, 'GET', '/api/auth/me', { token: attacker.accessToken });
    assert.equal(own.status, 200);
  });
});

describe('security: development secrets are random and shared through the database', () => {
  test('two dev instances share generated secrets; the old public one signs nothing', async () => {
    const env = await isolatedEnv({ NODE_ENV: 'development' });
    const a = await startTestApp(env);
    const b = await startTestApp(env);
    const user = await registerUser(a.url);
    const onB = await http(b.url, 'GET', '/api/auth/me', { token: user.accessToken });
    assert.equal(onB.status, 200, 'a token from one dev instance must work on the other');
    const forged = forgeAccess(OLD_PUBLIC_DEV_SECRET, {
      sub: user.user.id,
      sid: claimsOf(user.accessToken).sid,
    });
    const me = await http(a.url, 'GET', '/api/auth/me', { token: forged });
    assert.equal(me.status, 401, 'a token signed with the public development secret was accepted');
  });

  test('the server binds to 127.0.0.1 unless HOST says otherwise', () => {
    assert.equal(loadConfig({}).HOST, '127.0.0.1');
    assert.equal(loadConfig({ HOST: '0.0.0.0' }).HOST, '0.0.0.0');
  });
});

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { AuthService } from '../../src/modules/auth/auth.service.js';
import { TokenService } from '../../src/modules/auth/tokens.js';
import { FakeSessions, FakeUsers } from './fakes.js';

function setUp() {
  const users = new FakeUsers();
  const sessions = new FakeSessions();
  const revoked: string[] = [];
  const auth = new AuthService({
    users,
    sessions,
    tokens: new TokenService('access-secret-for-unit-tests', 'refresh-secret-for-unit-tests', 900),
    throttle: { countGuess: () => Promise.resolve(), clearGuesses: () => Promise.resolve() },
    adminListedAt: new Map(),
    onSessionRevoked: (sessionId) => Promise.resolve(void revoked.push(sessionId)),
  });
  return { auth, sessions, revoked };
}

const unauthorized = (err: unknown) => err instanceof AppError && err.code === 'unauthorized';

async function signUp(auth: AuthService, name = 'alice') {
  return auth.register({
    username: name,
    email: `${name}@example.test`,
    password: 'long enough 1',
  });
}

describe('token rules', () => {
  test('refresh rotates: the new token works once, the old one no longer does', async () => {
    const { auth } = setUp();
    const first = await signUp(auth);
    const second = await auth.refresh(first.refreshToken);
    assert.notEqual(second.refreshToken, first.refreshToken);
    const me = await auth.authenticate(second.accessToken);
    assert.equal(me.userId, first.user.id);
    const third = await auth.refresh(second.refreshToken);
    assert.ok(third.accessToken);
  });

  test('a refresh token presented twice revokes its whole session (reuse detection)', async () => {
    const { auth, revoked } = setUp();
    const session = await signUp(auth);
    const rotated = await auth.refresh(session.refreshToken);
    await assert.rejects(auth.refresh(session.refreshToken), unauthorized, 'reuse refused');
    await assert.rejects(auth.refresh(rotated.refreshToken), unauthorized, 'session is gone');
    await assert.rejects(auth.authenticate(rotated.accessToken), unauthorized);
    assert.equal(revoked.length, 1, 'sockets of the session told once');
  });

  test('malformed and unknown refresh tokens are unauthorized and revoke nothing', async () => {
    const { auth, revoked } = setUp();
    const session = await signUp(auth);
    for (const token of ['', 'no-dot', `${randomUUID()}.x`])
      await assert.rejects(auth.refresh(token), unauthorized, token);
    assert.ok(await auth.authenticate(session.accessToken));
    assert.deepEqual(revoked, []);
  });

  test('any other token naming a live session revokes it, as a stolen one would', async () => {
    const { auth, revoked } = setUp();
    const session = await signUp(auth);
    const [sessionId] = session.refreshToken.split('.');
    const forged = `${sessionId}.${randomBytes(32).toString('base64url')}`;
    await assert.rejects(auth.refresh(forged), unauthorized);
    await assert.rejects(auth.authenticate(session.accessToken), unauthorized);
    assert.equal(revoked.length, 1);
  });

  test('logout revokes the caller’s session and another of theirs, never someone else’s', async () => {
    const { auth } = setUp();
    const phone = await signUp(auth);
    const laptop = await auth.login({ login: 'alice', password: 'long enough 1' });
    const bob = await signUp(auth, 'bob');
    const caller = await auth.authenticate(phone.accessToken);
    await auth.logout(caller, laptop.refreshToken);
    await assert.rejects(auth.authenticate(phone.accessToken), unauthorized);
    await assert.rejects(auth.authenticate(laptop.accessToken), unauthorized);

    const tablet = await auth.login({ login: 'alice', password: 'long enough 1' });
    await auth.logout(await auth.authenticate(tablet.accessToken), bob.refreshToken);
    assert.ok(await auth.authenticate(bob.accessToken), "bob's session survives");
  });

  test('changing the password signs out every other session and keeps this one', async () => {
    const { auth } = setUp();
    const here = await signUp(auth);
    const elsewhere = await auth.login({ login: 'alice@example.test', password: 'long enough 1' });
    const caller = await auth.authenticate(here.accessToken);
    await auth.updateMe(caller, { currentPassword: 'long enough 1', newPassword: 'another one 2' });
    assert.ok(await auth.authenticate(here.accessToken));
    await assert.rejects(auth.authenticate(elsewhere.accessToken), unauthorized);
    await assert.rejects(auth.refresh(elsewhere.refreshToken), unauthorized);
    await assert.rejects(
      auth.login({ login: 'alice', password: 'long enough 1' }),
      (err: unknown) => err instanceof AppError && err.code === 'invalid_credentials',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { createSecretKey } from 'node:crypto';
import { TokenService } from '../../src/modules/auth/tokens.js';
import { AppError } from '../../src/errors.js';

const secret = 'a'.repeat(40);
const tokens = new TokenService(secret, 'b'.repeat(40), 900);

describe('tokens', () => {
  test('an issued access token verifies to its claims', async () => {
    const issued = await tokens.issueAccess('user1', 'session1');
    const auth = await tokens.verifyAccess(issued.token);
    assert.deepEqual(auth, {
      userId: 'user1',
      sessionId: 'session1',
      tokenId: issued.tokenId,
      expiresAt: issued.expiresAt,
    });
  });

  test('expired tokens, other algorithms and other types are refused', async () => {
    const key = createSecretKey(Buffer.from(secret));
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ sid: 's', typ: 'access' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setJti('j')
      .setIssuedAt(now - 100)
      .setExpirationTime(now - 10)
      .sign(key);
    await assert.rejects(
      tokens.verifyAccess(expired),
      (e: unknown) => e instanceof AppError && e.status === 401,
    );
    const hs512 = await new SignJWT({ sid: 's', typ: 'access' })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('u')
      .setJti('j')
      .setExpirationTime(now + 100)
      .sign(key);
    await assert.rejects(
      tokens.verifyAccess(hs512),
      (e: unknown) => e instanceof AppError && e.status === 401,
    );
    const refreshTyped = await new SignJWT({ sid: 's', typ: 'refresh' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setJti('j')
      .setExpirationTime(now + 100)
      .sign(key);
    await assert.rejects(
      tokens.verifyAccess(refreshTyped),
      (e: unknown) => e instanceof AppError && e.status === 401,
    );
  });

  test('refresh tokens name their session and hash stably', () => {
    const token = tokens.newRefreshToken('0b5e7d2c-3f5a-4e1b-9c1d-2a3b4c5d6e7f');
    assert.equal(tokens.sessionIdOf(token), '0b5e7d2c-3f5a-4e1b-9c1d-2a3b4c5d6e7f');
    assert.equal(tokens.sessionIdOf('garbage'), null);
    assert.equal(tokens.hashRefresh(token), tokens.hashRefresh(token));
    assert.notEqual(
      tokens.hashRefresh(token),
      tokens.hashRefresh(tokens.newRefreshToken('0b5e7d2c-3f5a-4e1b-9c1d-2a3b4c5d6e7f')),
    );
  });
});

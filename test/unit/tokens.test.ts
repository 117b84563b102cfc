import assert from 'node:assert/strict';
import { createSecretKey } from 'node:crypto';
import { describe, mock, test } from 'node:test';
import jwt from 'jsonwebtoken';
import { TokenService } from '../../src/modules/auth/tokens.js';
import { AppError } from '../../src/errors.js';

const secret = 'a'.repeat(40);
const tokens = new TokenService(secret, 'b'.repeat(40), 900);
const key = createSecretKey(Buffer.from(secret));
const isUnauthorized = (e: unknown) => e instanceof AppError && e.status === 401;

function forge(claims: Record<string, unknown>, algorithm: jwt.Algorithm = 'HS256'): string {
  return jwt.sign({ sid: 's', typ: 'access', sub: 'u', jti: 'j', ...claims }, key, { algorithm });
}

describe('tokens', () => {
  test('an issued access token verifies to its claims', () => {
    const issued = tokens.issueAccess('user1', 'session1');
    assert.deepEqual(tokens.verifyAccess(issued.token), {
      userId: 'user1',
      sessionId: 'session1',
      tokenId: issued.tokenId,
      expiresAt: issued.expiresAt,
    });
  });

  test('expired tokens, other algorithms, other types and other keys are refused', () => {
    const now = Math.floor(Date.now() / 1000);
    assert.throws(
      () => tokens.verifyAccess(forge({ iat: now - 100, exp: now - 10 })),
      isUnauthorized,
    );
    assert.throws(() => tokens.verifyAccess(forge({ exp: now + 100 }, 'HS512')), isUnauthorized);
    assert.throws(
      () => tokens.verifyAccess(forge({ exp: now + 100, typ: 'refresh' })),
      isUnauthorized,
    );
    assert.throws(
      () => tokens.verifyAccess(forge({ sid: undefined, exp: now + 100 })),
      isUnauthorized,
    );
    const otherKey = jwt.sign({ sid: 's', typ: 'access', exp: now + 100 }, 'x'.repeat(40), {
      subject: 'u',
      jwtid: 'j',
    });
    assert.throws(() => tokens.verifyAccess(otherKey), isUnauthorized);
    const unsigned = jwt.sign({ sid: 's', typ: 'access', exp: now + 100 }, '', {
      algorithm: 'none',
      subject: 'u',
      jwtid: 'j',
    });
    assert.throws(() => tokens.verifyAccess(unsigned), isUnauthorized);
    assert.throws(() => tokens.verifyAccess('not.a.jwt'), isUnauthorized);
  });

  test('a token verified before is still refused once it expired, and a copy is returned', () => {
    const issued = new TokenService(secret, 'b'.repeat(40), 60).issueAccess('user1', 'session1');
    const first = tokens.verifyAccess(issued.token);
    first.userId = 'changed by a caller';
    assert.equal(tokens.verifyAccess(issued.token).userId, 'user1');
    mock.timers.enable({ apis: ['Date'], now: (issued.expiresAt - 1) * 1000 });
    try {
      assert.equal(tokens.verifyAccess(issued.token).userId, 'user1');
      mock.timers.tick(1000);
      assert.throws(() => tokens.verifyAccess(issued.token), isUnauthorized);
    } finally {
      mock.timers.reset();
    }
  });

  test('refresh tokens name their session and hash stably', () => {
    const sid = '0b5e7d2c-3f5a-4e1b-9c1d-2a3b4c5d6e7f';
    const token = tokens.newRefreshToken(sid);
    assert.equal(tokens.sessionIdOf(token), sid);
    assert.equal(tokens.sessionIdOf('garbage'), null);
    assert.equal(tokens.hashRefresh(token), tokens.hashRefresh(token));
    assert.notEqual(tokens.hashRefresh(token), tokens.hashRefresh(tokens.newRefreshToken(sid)));
  });
});

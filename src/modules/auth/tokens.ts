import { createHmac, createSecretKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { errors } from '../../errors.js';
import type { AuthContext } from '../../http/route.js';

const ALGORITHM = 'HS256';

export interface IssuedAccessToken {
  token: string;
  tokenId: string;
  expiresAt: number;
}

/**
 * Access tokens are short-lived HS256 JWTs (algorithm pinned on verify). The key is prepared
 * once as a KeyObject: with a string secret every verify re-derives it (~50× slower here).
 * Refresh tokens are opaque `<sessionId>.<random>`; only an HMAC of them is stored.
 */
export class TokenService {
  private readonly accessKey: KeyObject;
  private readonly refreshKey: KeyObject;

  constructor(
    accessSecret: string,
    refreshSecret: string,
    readonly accessTtlSeconds: number,
  ) {
    this.accessKey = createSecretKey(Buffer.from(accessSecret, 'utf8'));
    this.refreshKey = createSecretKey(Buffer.from(refreshSecret, 'utf8'));
  }

  async issueAccess(userId: string, sessionId: string): Promise<IssuedAccessToken> {
    const tokenId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = now + this.accessTtlSeconds;
    const token = await new SignJWT({ sid: sessionId, typ: 'access' })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(userId)
      .setJti(tokenId)
      .setIssuedAt(now)
      .setExpirationTime(expiresAt)
      .sign(this.accessKey);
    return { token, tokenId, expiresAt };
  }

  /** Verifies signature, algorithm, expiry and claim shapes; any failure is `unauthorized`. */
  async verifyAccess(token: string): Promise<AuthContext> {
    try {
      const { payload } = await jwtVerify(token, this.accessKey, { algorithms: [ALGORITHM] });
      const { sub, sid, jti, exp, typ } = payload;
      if (typ !== 'access' || typeof sub !== 'string' || typeof sid !== 'string' || !jti || !exp) {
        throw errors.unauthorized('Malformed access token');
      }
      return { userId: sub, sessionId: sid, tokenId: jti, expiresAt: exp };
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) {
        throw errors.unauthorized(
          error instanceof joseErrors.JWTExpired ? 'Access token expired' : 'Invalid access token',
        );
      }
      throw error;
    }
  }

  newRefreshToken(sessionId: string): string {
    return `${sessionId}.${randomBytes(32).toString('base64url')}`;
  }

  /** The session id a refresh token claims, or null when it is not shaped like one. */
  sessionIdOf(refreshToken: string): string | null {
    const match = /^([0-9a-f-]{36})\.[A-Za-z0-9_-]{43}$/.exec(refreshToken);
    return match?.[1] ?? null;
  }

  hashRefresh(refreshToken: string): string {
    return createHmac('sha256', this.refreshKey).update(refreshToken).digest('base64url');
  }
}

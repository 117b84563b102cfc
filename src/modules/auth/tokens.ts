import { createHmac, createSecretKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { errors } from '../../errors.js';
import type { AuthContext } from '../../contracts/auth.js';
import { BoundedMap } from '../../lib/bounded-map.js';

const ALGORITHM = 'HS256';
/** Tokens whose signature was checked, kept until they expire (a few MB at most). */
const VERIFIED_MAX = 10_000;

export interface IssuedAccessToken {
  token: string;
  tokenId: string;
  expiresAt: number;
}

/**
 * Access tokens are short-lived HS256 JWTs (algorithm pinned on verify), signed and verified
 * synchronously. The key is prepared once as a KeyObject: with a string secret every verify
 * re-derives it (~380 µs instead of ~8 µs here).
 * A token that verified is remembered, by its exact string, until it expires: its signature
 * cannot change, so the next request with it skips the HMAC and JSON parsing (revocation is not
 * decided here: callers still check the session on every request).
 * Refresh tokens are opaque `<sessionId>.<random>`; only an HMAC of them is stored.
 */
export class TokenService {
  private readonly accessKey: KeyObject;
  private readonly refreshKey: KeyObject;
  private readonly verified = new BoundedMap<string, AuthContext>(VERIFIED_MAX);

  constructor(
    accessSecret: string,
    refreshSecret: string,
    readonly accessTtlSeconds: number,
  ) {
    this.accessKey = createSecretKey(Buffer.from(accessSecret, 'utf8'));
    this.refreshKey = createSecretKey(Buffer.from(refreshSecret, 'utf8'));
  }

  issueAccess(userId: string, sessionId: string): IssuedAccessToken {
    const tokenId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = now + this.accessTtlSeconds;
    const token = jwt.sign(
      { sid: sessionId, typ: 'access', iat: now, exp: expiresAt },
      this.accessKey,
      {
        algorithm: ALGORITHM,
        subject: userId,
        jwtid: tokenId,
      },
    );
    return { token, tokenId, expiresAt };
  }

  /** Verifies signature, algorithm, expiry and claim shapes; any failure is `unauthorized`. */
  verifyAccess(token: string): AuthContext {
    const known = this.verified.get(token);
    if (known) {
      // jsonwebtoken's rule: expired from the `exp` second on.
      if (Math.floor(Date.now() / 1000) < known.expiresAt) return { ...known };
      this.verified.delete(token);
      throw errors.unauthorized('Access token expired');
    }
    const auth = this.verifySignature(token);
    this.verified.set(token, auth);
    return { ...auth };
  }

  private verifySignature(token: string): AuthContext {
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.accessKey, { algorithms: [ALGORITHM] });
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError) throw errors.unauthorized('Access token expired');
      if (error instanceof jwt.JsonWebTokenError) throw errors.unauthorized('Invalid access token');
      throw error;
    }
    if (typeof payload === 'string') throw errors.unauthorized('Malformed access token');
    const { sub, sid, jti, exp, typ } = payload as jwt.JwtPayload & {
      sid?: unknown;
      typ?: unknown;
    };
    if (typ !== 'access' || typeof sub !== 'string' || typeof sid !== 'string' || !jti || !exp) {
      throw errors.unauthorized('Malformed access token');
    }
    return { userId: sub, sessionId: sid, tokenId: jti, expiresAt: exp };
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

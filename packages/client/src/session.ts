import type { z } from 'zod';
import type { TokenPair } from '../../../src/contracts/auth.js';
import { ParleyError } from './errors.js';
import { Emitter } from './emitter.js';
import { readJson, writeJson, type StorageAdapter } from './storage.js';

export type Tokens = z.output<typeof TokenPair>;

interface WebLocks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** What the session keeps: the pair, when the access token expires (local clock), whose it is. */
export interface StoredSession {
  accessToken: string;
  refreshToken: string;
  /** Milliseconds since epoch, local clock: receipt time + `expiresIn` (immune to clock skew). */
  expiresAt: number;
  /** The access token's whole lifetime (`expiresIn`), which the refresh leeway is a share of. */
  lifetimeMs: number;
  userId: string;
}

export type SessionExpiredReason = 'expired' | 'revoked' | 'refresh_failed';

export type SessionEvents = {
  /** A new token pair (login, refresh, restore): the socket renews with it. */
  tokens: (session: StoredSession) => void;
  /** The session is gone (refresh refused, or revoked): log in again. Emitted once per session. */
  sessionExpired: (info: { reason: SessionExpiredReason; error?: ParleyError }) => void;
};

export interface SessionOptions {
  storage: StorageAdapter;
  key: string;
  /** Refresh this long before the access token expires (default: 1/5 of its life, ≤ 60 s). */
  refreshLeewayMs: number | undefined;
  /** Proactive refresh timer on (default); off, refresh happens on demand only. */
  autoRefresh: boolean;
  /** Calls POST /api/auth/refresh; resolves with the pair or rejects with a ParleyError. */
  callRefresh(refreshToken: string): Promise<Tokens>;
}

/**
 * Tokens and their rotation. Refresh tokens rotate: presenting one twice revokes the session,
 * so concurrent callers share ONE in-flight refresh, a caller whose token was already replaced
 * retries with the new one instead of refreshing again, and (with shared storage, e.g. tabs)
 * a pair another tab rotated is adopted instead of presenting the stale refresh token.
 */
export class Session extends Emitter<SessionEvents> {
  private current: StoredSession | null = null;
  private refreshing: Promise<StoredSession> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: SessionOptions) {
    super();
  }

  get userId(): string | null {
    return this.current?.userId ?? null;
  }

  get state(): StoredSession | null {
    return this.current;
  }

  /** Loads a session saved by an earlier page or process; true when there was one. */
  async restore(): Promise<boolean> {
    const saved = await readJson<StoredSession>(this.options.storage, this.options.key);
    if (!saved?.refreshToken) return false;
    this.adopt(saved);
    return true;
  }

  /** Starts using a token pair just received (login, register, refresh). */
  async set(tokens: Tokens): Promise<StoredSession> {
    const session: StoredSession = {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      // A JWT's `exp` is in whole seconds, so the token may expire up to 1 s before this.
      expiresAt: Date.now() + tokens.expiresIn * 1000 - 1000,
      lifetimeMs: tokens.expiresIn * 1000,
      userId: tokenSubject(tokens.accessToken),
    };
    await writeJson(this.options.storage, this.options.key, session);
    this.adopt(session);
    return session;
  }

  /** Forgets the session (logout, expiry) locally. */
  async clear(): Promise<void> {
    this.current = null;
    this.stopTimer();
    await writeJson(this.options.storage, this.options.key, null);
  }

  /** A valid access token: refreshed first when it expires within the leeway. */
  async accessToken(): Promise<string> {
    if (this.refreshing) return (await this.refreshing).accessToken;
    const session = this.current;
    if (!session) throw new ParleyError('unauthenticated', 'Not logged in', 401);
    if (!session.refreshToken || session.expiresAt - this.leeway(session) > Date.now())
      return session.accessToken;
    return (await this.refresh()).accessToken;
  }

  /**
   * After a 401 for `rejected`: if the session has moved on since, use the new token; otherwise
   * refresh (shared with everyone else asking).
   */
  async replace(rejected: string): Promise<string> {
    if (this.current && this.current.accessToken !== rejected) return this.current.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** One shared refresh, however many callers ask at once. */
  refresh(): Promise<StoredSession> {
    // Across tabs, the Web Locks API (where there is one) serialises rotations; inside the lock
    // rotate() first adopts a pair another tab stored meanwhile.
    const locks = (globalThis as { navigator?: { locks?: WebLocks } }).navigator?.locks;
    const rotate = () => this.rotate();
    this.refreshing ??= (
      locks ? locks.request(`${this.options.key}:refresh`, rotate) : rotate()
    ).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Tells listeners the session is gone and forgets it (once). */
  async expire(reason: SessionExpiredReason, error?: ParleyError): Promise<void> {
    if (!this.current) return;
    await this.clear();
    this.emit('sessionExpired', error ? { reason, error } : { reason });
  }

  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async rotate(): Promise<StoredSession> {
    const mine = this.current;
    if (!mine) throw new ParleyError('unauthenticated', 'Not logged in', 401);
    if (!mine.refreshToken)
      throw new ParleyError(
        'unauthenticated',
        'No refresh token: this access token is all there is',
        401,
      );
    // Another tab sharing the storage may have rotated already: its pair is the live one.
    const stored = await readJson<StoredSession>(this.options.storage, this.options.key);
    if (
      stored?.refreshToken &&
      stored.refreshToken !== mine.refreshToken &&
      stored.userId === mine.userId &&
      stored.expiresAt > Date.now()
    ) {
      this.adopt(stored);
      return stored;
    }
    try {
      const next = await this.set(await this.options.callRefresh(mine.refreshToken));
      return next;
    } catch (error) {
      const failure =
        error instanceof ParleyError
          ? error
          : new ParleyError('network_error', String(error), 0, error);
      // 401: the refresh token is spent or revoked — the session is over. Anything else
      // (network, 5xx, rate limit) may pass: keep the session and let the caller retry.
      if (failure.status === 401) await this.expire('refresh_failed', failure);
      throw failure.status === 401
        ? new ParleyError('session_expired', 'The session has ended; log in again', 401, failure)
        : failure;
    }
  }

  private adopt(session: StoredSession): void {
    this.current = session;
    this.schedule(session);
    this.emit('tokens', session);
  }

  private leeway(session: StoredSession): number {
    if (this.options.refreshLeewayMs !== undefined) return this.options.refreshLeewayMs;
    return Math.min(60_000, (session.lifetimeMs || 0) / 5);
  }

  private schedule(session: StoredSession): void {
    this.stopTimer();
    if (!this.options.autoRefresh || !session.refreshToken) return;
    const delay = Math.max(0, session.expiresAt - this.leeway(session) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      // A failed proactive refresh is retried on the next call; expiry is reported by expire().
      this.refresh().catch(() => undefined);
    }, delay);
    // In Node, a pending refresh must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }
}

/** The `sub` claim of a JWT (the user id), read without verifying: the server verifies. */
export function tokenSubject(token: string): string {
  const payload = token.split('.')[1];
  if (!payload) return '';
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : '';
  } catch {
    return '';
  }
}

import type { z } from 'zod';
import type { AuthResult, LoginBody, RegisterBody } from '../../../src/contracts/auth.js';
import { ParleyError } from './errors.js';
import { Emitter } from './emitter.js';
import {
  routes,
  routeUrl,
  type Api,
  type CallOptions,
  type Route,
  type RouteName,
} from './routes.js';
import { Session, type SessionEvents, type StoredSession } from './session.js';
import { memoryStorage, type StorageAdapter } from './storage.js';
import { ParleySocket, type SocketOptions } from './socket.js';

export interface ClientOptions {
  /** Where Parley is, e.g. `https://chat.example.com` (default: the page's own origin). */
  baseUrl?: string;
  /** Keeps the session, outbox and catch-up cursor across reloads (e.g. `localStorage`). */
  storage?: StorageAdapter;
  /** Prefix of the storage keys (default `parley`). */
  storageKey?: string;
  /** Refresh this long before the access token expires (default: 1/5 of its life, ≤ 60 s). */
  refreshLeewayMs?: number;
  /** Refresh proactively on a timer (default true); false refreshes only when a call needs it. */
  autoRefresh?: boolean;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

export type AuthResultView = z.output<typeof AuthResult>;

/**
 * The Parley client: typed REST (`client.api.*`), login and token rotation, and the socket
 * (`client.connect()`). Works in browsers and in Node 20+.
 */
export class ParleyClient extends Emitter<Pick<SessionEvents, 'sessionExpired'>> {
  readonly baseUrl: string;
  readonly storage: StorageAdapter;
  readonly storageKey: string;
  readonly session: Session;
  /** One method per REST route, typed from the contracts (see routes.ts). */
  readonly api: Api;
  private readonly fetchImpl: typeof fetch;
  private socketInstance: ParleySocket | null = null;

  constructor(options: ClientOptions = {}) {
    super();
    const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
    const baseUrl = options.baseUrl ?? origin;
    if (!baseUrl) throw new TypeError('baseUrl is required outside a browser page');
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.storage = options.storage ?? memoryStorage();
    this.storageKey = options.storageKey ?? 'parley';
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.session = new Session({
      storage: this.storage,
      key: `${this.storageKey}:session`,
      refreshLeewayMs: options.refreshLeewayMs,
      autoRefresh: options.autoRefresh ?? true,
      callRefresh: (refreshToken) =>
        this.call(routes.refresh, { body: { refreshToken } }) as Promise<{
          accessToken: string;
          refreshToken: string;
          expiresIn: number;
        }>,
    });
    this.session.on('sessionExpired', (info) => {
      // Unsent messages stay stored for this user's next session; their promises end here.
      this.dropSocket(
        new ParleyError(
          'session_expired',
          'The session ended before the send was acknowledged',
          401,
        ),
      );
      this.emit('sessionExpired', info);
    });
    const api: Record<string, unknown> = {};
    for (const [name, route] of Object.entries(routes) as [RouteName, Route][])
      api[name] = (input?: object, callOptions?: CallOptions) =>
        this.call(route, input ?? {}, callOptions);
    this.api = api as Api;
  }

  /** The logged-in user's id, or null. */
  get userId(): string | null {
    return this.session.userId;
  }

  /** Picks up a session saved in `storage` by an earlier page/process; true when there was one. */
  restore(): Promise<boolean> {
    return this.session.restore();
  }

  async register(body: z.input<typeof RegisterBody>): Promise<AuthResultView> {
    return this.started(await this.api.register({ body }));
  }

  async login(body: z.input<typeof LoginBody>): Promise<AuthResultView> {
    return this.started(await this.api.login({ body }));
  }

  /** Uses a token pair obtained elsewhere (e.g. handed over by a server). */
  async useTokens(tokens: {
    accessToken: string;
    refreshToken: string;
    expiresIn: number;
  }): Promise<StoredSession> {
    return this.session.set(tokens);
  }

  /**
   * Uses a bare access token (a service, a test, a token handed over without its refresh
   * token): never refreshed; when it expires or is revoked, calls fail with 401.
   */
  async useAccessToken(accessToken: string, expiresIn = 3600): Promise<StoredSession> {
    return this.session.set({ accessToken, refreshToken: '', expiresIn });
  }

  /** Ends the session on the server (its tokens and sockets) and forgets it here. */
  async logout(): Promise<void> {
    const state = this.session.state;
    this.dropSocket(new ParleyError('logged_out', 'Logged out before the send was acknowledged'));
    try {
      if (state) await this.api.logout({ body: { refreshToken: state.refreshToken } });
    } catch (error) {
      // An already-ended session is logged out all the same.
      if (!(error instanceof ParleyError && error.status === 401)) throw error;
    } finally {
      await this.session.clear();
    }
  }

  /** The socket: created on first call, connected, renewed and caught up by the client. */
  connect(options: SocketOptions = {}): ParleySocket {
    this.socketInstance ??= new ParleySocket(this, options);
    this.socketInstance.open();
    return this.socketInstance;
  }

  /** Stops timers and the socket (Node scripts and tests call it at the end). */
  close(): void {
    this.dropSocket();
    this.session.stopTimer();
  }

  private dropSocket(error?: ParleyError): void {
    this.socketInstance?.dispose(error);
    this.socketInstance = null;
  }

  /**
   * Calls one route. Non-public routes carry the access token (refreshed first when near
   * expiry); a 401 is retried once with a new token, and a refused refresh ends the session.
   */
  async call(route: Route, input: object, options: CallOptions = {}): Promise<unknown> {
    const { params, query, body } = input as {
      params?: Record<string, string>;
      query?: Record<string, unknown>;
      body?: unknown;
    };
    const url = this.baseUrl + routeUrl(route.path, params, query);
    const send = async (token: string | null) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      // Uploads (FormData, Blob) go as they are; fetch sets their content type.
      const raw = isRawBody(body);
      if (body !== undefined && !raw) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method: route.method.toUpperCase(),
          headers,
          ...(body === undefined ? {} : { body: raw ? body : JSON.stringify(body) }),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        throw new ParleyError('network_error', `${route.method} ${route.path}: ${String(error)}`);
      }
      // Downloads (attachment content) resolve with the bytes; errors are JSON as always.
      if (response.ok && !/json/i.test(response.headers.get('content-type') ?? '')) {
        options.onResponse?.({ status: response.status, headers: response.headers });
        const blob = response.status === 204 ? undefined : await response.blob();
        return { status: response.status, ok: true, body: blob };
      }
      const text = await response.text();
      let parsed: unknown = undefined;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new ParleyError('bad_response', 'The response is not JSON', response.status, text);
        }
      }
      options.onResponse?.({ status: response.status, headers: response.headers });
      return { status: response.status, ok: response.ok, body: parsed };
    };
    if (route.access === 'public') return this.result(await send(null));
    const token = await this.session.accessToken();
    let result = await send(token);
    if (result.status === 401 && this.session.state?.refreshToken) {
      result = await send(await this.session.replace(token));
      // Refreshed and still refused: the session was revoked (logout elsewhere, password change).
      if (result.status === 401)
        await this.session.expire('revoked', ParleyError.fromResponse(401, result.body));
    }
    return this.result(result);
  }

  private result(result: { status: number; ok: boolean; body: unknown }): unknown {
    if (!result.ok) throw ParleyError.fromResponse(result.status, result.body);
    return result.body;
  }

  private async started(result: AuthResultView): Promise<AuthResultView> {
    await this.session.set(result);
    return result;
  }
}

function isRawBody(body: unknown): body is FormData | Blob {
  return (
    (typeof FormData !== 'undefined' && body instanceof FormData) ||
    (typeof Blob !== 'undefined' && body instanceof Blob)
  );
}

/** `new ParleyClient(options)`. */
export function createClient(options: ClientOptions = {}): ParleyClient {
  return new ParleyClient(options);
}

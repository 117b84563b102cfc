import { io, type Socket } from 'socket.io-client';
import type { MessageView } from '../../../src/contracts/messages.js';
import type {
  Ack,
  AckBody,
  ClientEvent,
  ClientPayload,
  ClientToServerEvents,
  ServerEvent,
  ServerPayload,
  ServerToClientEvents,
} from '../../../src/contracts/socket.js';
import type { ParleyClient } from './client.js';
import { Emitter } from './emitter.js';
import { isTransient, ParleyError } from './errors.js';
import { readJson, writeJson } from './storage.js';

export interface SocketOptions {
  /** Default: polling first, then upgrade to WebSocket (Socket.IO's default). */
  transports?: ('websocket' | 'polling')[];
  /** How long an ack may take before the request fails with `timeout` (default 10 s). */
  ackTimeoutMs?: number;
  /** Extra handshake headers (Node only; browsers ignore them). */
  extraHeaders?: Record<string, string>;
}

export type SocketEvents = {
  [E in ServerEvent]: (payload: ServerPayload<E>) => void;
} & {
  /** Connected (again), rooms re-joined; catch-up and the outbox follow. */
  connected: () => void;
  disconnected: (reason: string) => void;
  /** Catch-up after a (re)connect finished; `count` messages were new. */
  caughtUp: (count: number) => void;
  /** An outbox send was acknowledged (also for sends restored from storage after a reload). */
  sent: (info: { clientMessageId: string; message: MessageView }) => void;
  /** An outbox send was refused for good (validation, not a member, …) and dropped. */
  sendFailed: (info: OutboxEntry & { error: ParleyError }) => void;
};

export interface OutboxEntry {
  clientMessageId: string;
  conversationId: string;
  content: string;
}

type Raw = Socket<ServerToClientEvents, ClientToServerEvents>;

const MAX_BACKOFF_MS = 30_000;
/** How far this machine's clock may run ahead of the server's (ids carry the server's time). */
const CLOCK_SKEW_MS = 60_000;
/** Ids kept with the cursor in storage: far more than a catch-up lookback returns again. */
const PERSISTED_IDS = 200;

interface SyncState {
  cursor: string | null;
  recent: string[];
}

/**
 * The socket, with the protocol's hard parts done: typed `request` (promise acks, refusals as
 * ParleyError), token renewal with the `auth` event and a fresh token on every reconnect,
 * re-joining rooms after a reconnect, catch-up through GET /api/sync with dedupe by message id,
 * and an outbox that resends unacknowledged messages with the same clientMessageId.
 */
export class ParleySocket extends Emitter<SocketEvents> {
  readonly raw: Raw;
  private readonly joined = new Set<string>();
  private readonly seen = new RecentIds(5000);
  private cursor: string | null = null;
  /** When the first catch-up ran, while the cursor is still null (ms since the epoch). */
  private firstCatchUpAt: number | null = null;
  private outbox: OutboxEntry[] = [];
  private readonly waiters = new Map<
    string,
    { resolve: (m: MessageView) => void; reject: (e: ParleyError) => void }
  >();
  private flushing: Promise<void> | null = null;
  private catchingUp: Promise<void> | null = null;
  private closed = true;
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly ackTimeoutMs: number;
  private readonly loaded: Promise<void>;
  private readonly userId: string;
  private readonly stopRenewal: () => void;

  constructor(
    private readonly client: ParleyClient,
    options: SocketOptions = {},
  ) {
    super();
    this.userId = client.userId ?? '';
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.raw = io(client.baseUrl, {
      autoConnect: false,
      forceNew: true,
      ...(options.transports ? { transports: options.transports } : {}),
      ...(options.extraHeaders ? { extraHeaders: options.extraHeaders } : {}),
      // Called on every (re)connect: each handshake carries the current token, refreshed first
      // when it is about to expire. An empty token is refused as `unauthorized` (handled below).
      auth: (send) => {
        this.client.session.accessToken().then(
          (token) => send({ token }),
          () => send({ token: '' }),
        );
      },
    });
    this.loaded = this.load();
    this.raw.on('connect', () => void this.onConnect());
    this.raw.on('disconnect', (reason) => this.onDisconnect(reason));
    this.raw.on('connect_error', (error) => void this.onConnectError(error));
    this.raw.onAny((event: string, payload: unknown) => this.onServerEvent(event, payload));
    this.stopRenewal = client.session.on('tokens', () => void this.renew());
  }

  get connected(): boolean {
    return this.raw.connected;
  }

  /** Conversations joined with `join` (re-joined after every reconnect). */
  get rooms(): readonly string[] {
    return [...this.joined];
  }

  /** Sends not yet acknowledged, oldest first. */
  get pending(): readonly OutboxEntry[] {
    return [...this.outbox];
  }

  /** Resolves once connected (rooms re-joined), or rejects after `timeoutMs`. */
  whenConnected(timeoutMs = 10_000): Promise<void> {
    if (this.raw.connected && !this.connecting) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new ParleyError('timeout', `not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = this.on('connected', () => {
        clearTimeout(timer);
        stop();
        resolve();
      });
    });
  }

  /**
   * Emits a client event and resolves with its ack's body; a refusal rejects with a ParleyError
   * carrying the server's code, no ack in time with `timeout`, no connection with `not_connected`.
   */
  async request<E extends ClientEvent>(
    event: E,
    payload: ClientPayload<E>,
    timeoutMs = this.ackTimeoutMs,
  ): Promise<AckBody<E>> {
    return requestAck(this.raw, event, payload, timeoutMs);
  }

  /** Joins a conversation's room (typing, read receipts) now and after every reconnect. */
  async join(conversationId: string): Promise<void> {
    this.joined.add(conversationId);
    if (!this.raw.connected) return;
    try {
      await this.request('join_room', { conversationId });
    } catch (error) {
      // Refused (not a member): not one to re-join. Transient: the next connect joins it.
      if (!isTransient(error)) this.joined.delete(conversationId);
      throw error;
    }
  }

  async leave(conversationId: string): Promise<void> {
    this.joined.delete(conversationId);
    if (this.raw.connected) await this.request('leave_room', { conversationId });
  }

  /**
   * Sends a message through the outbox: it is kept (in storage too, when the client has one)
   * until acknowledged and resent with the same clientMessageId after a reconnect or reload, so
   * the server stores it once. Resolves with the stored message; rejects if refused for good.
   */
  send(
    conversationId: string,
    content: string,
    options: { clientMessageId?: string } = {},
  ): Promise<MessageView> {
    const entry: OutboxEntry = {
      clientMessageId: options.clientMessageId ?? newClientMessageId(),
      conversationId,
      content,
    };
    const sent = new Promise<MessageView>((resolve, reject) =>
      this.waiters.set(entry.clientMessageId, { resolve, reject }),
    );
    void this.loaded.then(async () => {
      this.outbox.push(entry);
      await this.saveOutbox();
      this.flush();
    });
    return sent;
  }

  typing(conversationId: string, isTyping: boolean): Promise<AckBody<'typing'>> {
    return this.request('typing', { conversationId, isTyping });
  }

  markRead(conversationId: string, messageId: string): Promise<AckBody<'message_read'>> {
    return this.request('message_read', { conversationId, messageId });
  }

  /**
   * Records messages the app already has (say, a history page), so catch-up starts after them
   * and they are not delivered again.
   */
  markSeen(messages: readonly { id: string }[]): void {
    for (const m of messages) {
      this.seen.add(m.id);
      this.advance(m.id);
    }
  }

  /** Fetches what was missed since the newest message seen; each message delivered once. */
  catchUp(): Promise<void> {
    this.catchingUp ??= this.fetchMissed().finally(() => {
      this.catchingUp = null;
    });
    return this.catchingUp;
  }

  /** Connects (the client calls this from `connect()`). */
  open(): void {
    if (!this.closed) return;
    this.closed = false;
    void this.loaded.then(() => {
      if (!this.closed) this.raw.connect();
    });
  }

  /** Disconnects for good; pending sends stay in storage for the next connection. */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.raw.disconnect();
  }

  /** Stops renewing and drops the listeners on the client's session (after close). */
  dispose(error = new ParleyError('not_connected', 'The socket was closed')): void {
    this.close();
    this.stopRenewal();
    for (const [, waiter] of this.waiters) waiter.reject(error);
    this.waiters.clear();
  }

  private connecting = false;

  private async onConnect(): Promise<void> {
    this.connecting = true;
    this.attempts = 0;
    // Rooms are per connection: a reconnect starts in none but the user's own.
    await Promise.all(
      [...this.joined].map((conversationId) =>
        this.request('join_room', { conversationId }).catch((error: unknown) => {
          // No longer a member (removed while away): stop re-joining it.
          if (error instanceof ParleyError && !isTransient(error))
            this.joined.delete(conversationId);
        }),
      ),
    );
    this.connecting = false;
    if (!this.raw.connected) return;
    this.emit('connected');
    this.flush();
    await this.catchUp().catch(() => undefined);
  }

  private onDisconnect(reason: string): void {
    this.emit('disconnected', reason);
    // The server hung up (auth_expired, revoked session, kicked): Socket.IO does not reconnect
    // by itself then. Reconnect with a fresh token unless the session is over.
    if (reason === 'io server disconnect' && !this.closed) this.retry(0);
  }

  private async onConnectError(error: Error): Promise<void> {
    if (this.closed || this.raw.active) return; // a transport error: Socket.IO retries itself
    // Refused by the server's middleware: Socket.IO gives up, so the client decides.
    if (error.message === 'unauthorized') {
      try {
        await this.client.session.refresh();
      } catch {
        // The session is over (sessionExpired was sent), or a bare token nobody can renew.
        if (!this.client.session.state?.refreshToken) return;
      }
    }
    this.retry();
  }

  private retry(delayMs?: number): void {
    if (this.closed || this.retryTimer) return;
    const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempts) * (0.5 + Math.random() / 2);
    this.attempts += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && this.client.session.state && !this.raw.connected) this.raw.connect();
    }, delayMs ?? backoff);
  }

  private onServerEvent(event: string, payload: unknown): void {
    if (event === 'message_received') {
      this.deliver((payload as ServerPayload<'message_received'>).message);
      return;
    }
    if (event === 'auth_expired') {
      // The server disconnects right after. Refresh now: a revoked session fails here and the
      // client reports sessionExpired; an expired token is replaced before we reconnect.
      void this.client.session.refresh().catch(() => undefined);
    }
    (this.emit as (event: string, payload: unknown) => void)(event, payload);
  }

  /** A new token pair: renew this connection's credentials before the old token expires. */
  private async renew(): Promise<void> {
    const token = this.client.session.state?.accessToken;
    if (!token || !this.raw.connected) return;
    try {
      await this.request('auth', { token });
    } catch {
      // Refused or lost: reconnect, which hands over the current token in the handshake.
      if (this.raw.connected) {
        this.raw.disconnect();
        this.retry(0);
      }
    }
  }

  private deliver(message: MessageView): boolean {
    if (this.seen.has(message.id)) return false;
    this.seen.add(message.id);
    this.advance(message.id);
    this.emit('message_received', { message });
    return true;
  }

  private advance(id: string): void {
    if (this.cursor === null || id > this.cursor) this.cursor = id;
    // The cursor travels with the ids seen just before it: catch-up looks back a few seconds
    // before the cursor, and after a reload those messages must still count as delivered.
    const state: SyncState = { cursor: this.cursor, recent: this.seen.last(PERSISTED_IDS) };
    void writeJson(this.client.storage, this.key('sync'), state);
  }

  private async fetchMissed(): Promise<void> {
    // No cursor yet: nothing was seen, so start from the newest message of any conversation.
    if (this.cursor === null && this.firstCatchUpAt === null) {
      this.firstCatchUpAt = Date.now();
      const page = await this.client.api.listConversations({ query: { limit: 100 } });
      const newest = page.items
        .map((c) => c.lastMessage?.id)
        .filter((id): id is string => !!id)
        .sort()
        .pop();
      // Only the cursor: a message that arrives live right now may already be the newest, and
      // must still be delivered.
      if (newest) this.advance(newest);
      this.emit('caughtUp', 0);
      return;
    }
    // Still nothing seen since the first catch-up (no conversation had a message then): start
    // from that time, or what arrived while this socket was away would never be delivered.
    let since: string | null = this.cursor ?? idAtTime((this.firstCatchUpAt ?? 0) - CLOCK_SKEW_MS);
    let count = 0;
    while (since) {
      const page = await this.client.api.sync({ query: { since, limit: 100 } });
      for (const message of page.items) if (this.deliver(message)) count += 1;
      since = page.nextCursor;
    }
    this.emit('caughtUp', count);
  }

  /** Sends the outbox in order while connected; transient failures wait for the next chance. */
  private flush(): void {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
  }

  private async drain(): Promise<void> {
    let delay = 250;
    while (this.outbox.length > 0 && this.raw.connected) {
      const entry = this.outbox[0] as OutboxEntry;
      try {
        const { message } = await this.request('send_message', { ...entry });
        await this.settle(entry);
        this.deliver(message);
        this.waiters.get(entry.clientMessageId)?.resolve(message);
        this.waiters.delete(entry.clientMessageId);
        this.emit('sent', { clientMessageId: entry.clientMessageId, message });
        delay = 250;
      } catch (caught) {
        const error =
          caught instanceof ParleyError ? caught : new ParleyError('network_error', String(caught));
        if (isTransient(error) || error.code === 'unauthorized') {
          // Same clientMessageId next time: the server answers a retry with the original.
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(MAX_BACKOFF_MS, delay * 2);
          continue;
        }
        await this.settle(entry);
        this.waiters.get(entry.clientMessageId)?.reject(error);
        this.waiters.delete(entry.clientMessageId);
        this.emit('sendFailed', { ...entry, error });
      }
    }
  }

  private async settle(entry: OutboxEntry): Promise<void> {
    this.outbox = this.outbox.filter((e) => e.clientMessageId !== entry.clientMessageId);
    await this.saveOutbox();
  }

  private key(name: string): string {
    return `${this.client.storageKey}:${name}:${this.userId}`;
  }

  private async load(): Promise<void> {
    const storage = this.client.storage;
    this.outbox = (await readJson<OutboxEntry[]>(storage, this.key('outbox'))) ?? [];
    const sync = await readJson<SyncState>(storage, this.key('sync'));
    this.cursor = sync?.cursor ?? null;
    for (const id of sync?.recent ?? []) this.seen.add(id);
  }

  private saveOutbox(): Promise<void> {
    return writeJson(
      this.client.storage,
      this.key('outbox'),
      this.outbox.length ? this.outbox : null,
    );
  }
}

/**
 * Emits a client event on any Socket.IO client socket and resolves with its ack's body; a
 * refusal rejects with a ParleyError carrying the server's code, no ack in time with `timeout`.
 */
export async function requestAck<E extends ClientEvent>(
  socket: Pick<Raw, 'connected' | 'timeout'>,
  event: E,
  payload: ClientPayload<E>,
  timeoutMs: number,
): Promise<AckBody<E>> {
  if (!socket.connected) throw new ParleyError('not_connected', `${event}: not connected`);
  // Socket.IO's own types cannot follow a generic event name through emitWithAck.
  const timed = socket.timeout(timeoutMs) as unknown as {
    emitWithAck(event: E, payload: ClientPayload<E>): Promise<Ack<AckBody<E>>>;
  };
  let response: Ack<AckBody<E>>;
  try {
    response = await timed.emitWithAck(event, payload);
  } catch {
    throw new ParleyError('timeout', `${event}: no ack within ${timeoutMs} ms`);
  }
  if (!response.ok) throw new ParleyError(response.error.code, response.error.message);
  const { ok: _ok, ...body } = response;
  return body as unknown as AckBody<E>;
}

/** A clientMessageId (1–64 of `[\w.:-]`): a random UUID where available. */
export function newClientMessageId(): string {
  const uuid = (globalThis.crypto as { randomUUID?: () => string } | undefined)?.randomUUID?.();
  if (uuid) return uuid;
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

/** The last `capacity` ids seen, for dedupe. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(id: string): boolean {
    return this.ids.has(id);
  }
  last(n: number): string[] {
    return [...this.ids].slice(-n);
  }
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }
}

/** A message id (an ObjectId: seconds first) that sorts before every message stored after `ms`. */
function idAtTime(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  return `${seconds.toString(16).padStart(8, '0')}${'0'.repeat(16)}`;
}

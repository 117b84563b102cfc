import type { Notifier } from '../../contracts/socket.js';
import type { Logger } from '../../logger.js';
import type { MembershipCache } from '../conversations/membership.cache.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { PresenceRepository } from './presence.repository.js';

/** Defaults: an instance silent 30 s is dead, so its users are swept out well within a minute. */
export const PRESENCE_TIMING = { heartbeatMs: 10_000, staleMs: 30_000 };

/**
 * Online/offline transitions for one api instance: counts connections in Redis, tells the
 * user's contacts, stores lastSeenAt, and sweeps the users of instances that stopped beating.
 */
export class PresenceService {
  private timer: NodeJS.Timeout | null = null;
  private readonly disconnecting = new Set<Promise<void>>();
  /** This instance's own connections per user: the truth each heartbeat re-asserts in Redis. */
  private readonly connections = new Map<string, number>();

  constructor(
    private readonly instanceId: string,
    private readonly presence: PresenceRepository,
    private readonly membership: MembershipCache,
    private readonly users: UsersRepository,
    private readonly notifier: Notifier,
    private readonly logger: Logger,
    private readonly timing = PRESENCE_TIMING,
  ) {}

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.timing.heartbeatMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Graceful shutdown: this instance's connections leave presence at once, not after a minute. */
  async leave(): Promise<void> {
    // Sockets closed by the shutdown are still being marked offline: let that finish first,
    // so no presence write or offline notice is issued after Redis is closed.
    await Promise.allSettled([...this.disconnecting]);
    for (const userId of await this.presence.sweepInstance(this.instanceId))
      await this.wentOffline(userId);
  }

  async connected(userId: string): Promise<void> {
    this.connections.set(userId, (this.connections.get(userId) ?? 0) + 1);
    if (await this.presence.connect(userId, this.instanceId)) {
      this.notifier.toUsers(await this.membership.contacts(userId), 'user_online', { userId });
    }
  }

  async disconnected(userId: string): Promise<void> {
    const left = (this.connections.get(userId) ?? 1) - 1;
    if (left > 0) this.connections.set(userId, left);
    else this.connections.delete(userId);
    const work = this.markDisconnected(userId);
    this.disconnecting.add(work);
    try {
      await work;
    } finally {
      this.disconnecting.delete(work);
    }
  }

  private async markDisconnected(userId: string): Promise<void> {
    if (await this.presence.disconnect(userId, this.instanceId)) await this.wentOffline(userId);
  }

  /** One heartbeat, then a sweep of dead instances. Failures are logged; the next tick retries. */
  async tick(now = Date.now()): Promise<void> {
    try {
      await this.presence.heartbeat(this.instanceId, this.connections, now);
      for (const dead of await this.presence.staleInstances(this.timing.staleMs, now)) {
        const offline = await this.presence.sweepInstance(dead);
        this.logger.warn(
          { instance: dead, users: offline.length },
          'swept users of a dead instance',
        );
        for (const userId of offline) await this.wentOffline(userId);
      }
    } catch (error) {
      this.logger.error({ err: error }, 'presence heartbeat failed');
    }
  }

  private async wentOffline(userId: string): Promise<void> {
    const lastSeenAt = new Date();
    await this.users.setLastSeen(userId, lastSeenAt);
    this.notifier.toUsers(await this.membership.contacts(userId), 'user_offline', {
      userId,
      lastSeenAt: lastSeenAt.toISOString(),
    });
  }
}

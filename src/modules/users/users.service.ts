import type { PresenceRepository } from '../presence/presence.repository.js';
import { presentSummary } from './users.present.js';
import type { UsersRepository } from './users.repository.js';

export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly presence: PresenceRepository,
  ) {}

  /** Users by username, with presence; `cursor` is the last username of the previous page. */
  async list(query: { search?: string; cursor?: string; limit: number }) {
    const rows = await this.users.list({
      ...(query.search ? { search: query.search } : {}),
      ...(query.cursor ? { after: query.cursor } : {}),
      limit: query.limit + 1,
    });
    const pageRows = rows.slice(0, query.limit);
    const online = await this.presence.areOnline(pageRows.map((u) => u.id));
    return {
      items: pageRows.map((u, i) => presentSummary(u, online[i] ?? false)),
      nextCursor: rows.length > query.limit ? (pageRows.at(-1)?.username ?? null) : null,
    };
  }

  async online() {
    const userIds = await this.presence.onlineUserIds();
    return { count: userIds.length, userIds };
  }

  async onlineCount() {
    return { count: await this.presence.onlineCount() };
  }

  async isOnline(userId: string) {
    return { userId, isOnline: await this.presence.isOnline(userId) };
  }
}

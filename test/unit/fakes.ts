/**
 * In-memory fakes of the repositories, for the unit tier: each keeps the repository's contract
 * (what it returns, which rows a call touches) in a Map, so a service's rules run in
 * milliseconds. Redis, RabbitMQ and MongoDB themselves are never faked: the integration tier
 * runs the real repositories against them.
 */
import { randomBytes } from 'node:crypto';
import { errors } from '../../src/errors.js';
import type { AuthServiceDeps } from '../../src/modules/auth/auth.service.js';
import type { RotateOutcome } from '../../src/modules/auth/sessions.repository.js';
import type {
  AutoMessage,
  PlannedAutoMessage,
} from '../../src/modules/automessages/automessages.repository.js';
import type { AutoMessagesServiceDeps } from '../../src/modules/automessages/automessages.service.js';
import type {
  Conversation,
  LastMessage,
} from '../../src/modules/conversations/conversations.repository.js';
import type { ConversationsServiceDeps } from '../../src/modules/conversations/conversations.service.js';
import { directKeyOf } from '../../src/modules/conversations/direct-key.js';
import {
  newUserFields,
  type NewUser,
  type User,
  type UserPatch,
} from '../../src/modules/users/users.repository.js';

/** A 24-hex id, like the ObjectIds the real repositories hand out. */
export function fakeId(): string {
  return randomBytes(12).toString('hex');
}

type UsersPort = AuthServiceDeps['users'] &
  AutoMessagesServiceDeps['users'] &
  ConversationsServiceDeps['users'];
type SessionsPort = AuthServiceDeps['sessions'];
type AutosPort = AutoMessagesServiceDeps['autos'];
type ConversationsPort = ConversationsServiceDeps['conversations'];
type MembershipPort = ConversationsServiceDeps['membership'];
type CachesPort = ConversationsServiceDeps['caches'];

/** No caching: every read loads (the Redis caches have integration tests of their own). */
export class NoCaches implements CachesPort {
  newestMessages<T>(_id: string, _count: number, load: () => Promise<T>) {
    return load();
  }
  firstListPage<T>(_userId: string, _size: number, load: () => Promise<T>) {
    return load();
  }
  messagesChanged() {
    return Promise.resolve();
  }
  historyChanged() {
    return Promise.resolve();
  }
  listsChanged() {
    return Promise.resolve();
  }
}

export class FakeUsers implements UsersPort {
  readonly rows = new Map<string, User>();

  create(data: NewUser): Promise<User> {
    for (const field of ['username', 'email'] as const) {
      if ([...this.rows.values()].some((u) => u[field] === data[field]))
        return Promise.reject(errors.conflict(`That ${field} is already taken`, { field }));
    }
    const user: User = { ...newUserFields(data, new Date()), id: fakeId() };
    this.rows.set(user.id, user);
    return Promise.resolve(user);
  }

  findById(id: string): Promise<User | null> {
    return Promise.resolve(this.rows.get(id) ?? null);
  }

  findByLogin(login: string): Promise<User | null> {
    const value = login.toLowerCase();
    const field = value.includes('@') ? 'email' : 'username';
    return Promise.resolve([...this.rows.values()].find((u) => u[field] === value) ?? null);
  }

  update(id: string, patch: UserPatch): Promise<User | null> {
    const user = this.rows.get(id);
    if (!user) return Promise.resolve(null);
    const updated = { ...user, ...patch, updatedAt: new Date() };
    this.rows.set(id, updated);
    return Promise.resolve(updated);
  }

  setRoleByEmail(email: string, role: User['role']): Promise<User | null> {
    const user = [...this.rows.values()].find((u) => u.email === email.toLowerCase());
    return Promise.resolve(user ? this.set(user.id, { role }) : null);
  }

  findSummaries(ids: string[]) {
    const found = ids.flatMap((id) => this.rows.get(id) ?? []);
    return Promise.resolve(
      found.map(({ id, username, displayName, avatarUrl, lastSeenAt }) => ({
        id,
        username,
        displayName,
        avatarUrl,
        lastSeenAt,
      })),
    );
  }

  async *activeUserIds(): AsyncGenerator<string> {
    await Promise.resolve();
    yield* [...this.rows.values()].filter((u) => u.isActive).map((u) => u.id);
  }

  /** Test set-up: `count` active users with distinct names. */
  async seed(count: number): Promise<User[]> {
    const made: User[] = [];
    for (let i = 0; i < count; i += 1) {
      const name = `user${this.rows.size}`;
      made.push(
        await this.create({
          username: name,
          email: `${name}@example.test`,
          passwordHash: 'unused',
          displayName: name,
          role: 'user',
        }),
      );
    }
    return made;
  }

  /** Test set-up: an account that exists but is disabled. */
  deactivate(id: string): void {
    this.set(id, { isActive: false });
  }

  private set(id: string, fields: Partial<User>): User | null {
    const user = this.rows.get(id);
    if (!user) return null;
    const updated = { ...user, ...fields };
    this.rows.set(id, updated);
    return updated;
  }
}

/** Sessions as SessionsRepository keeps them in Redis, with the same compare-and-swap rotate. */
export class FakeSessions implements SessionsPort {
  readonly sessions = new Map<string, { userId: string; tokenHash: string }>();
  readonly denied = new Set<string>();

  create(sessionId: string, userId: string, tokenHash: string): Promise<void> {
    this.sessions.set(sessionId, { userId, tokenHash });
    return Promise.resolve();
  }

  rotate(sessionId: string, presentedHash: string, nextHash: string) {
    const session = this.sessions.get(sessionId);
    let result: { outcome: RotateOutcome; userId: string | null };
    if (!session) result = { outcome: 'missing', userId: null };
    else if (session.tokenHash !== presentedHash) {
      this.sessions.delete(sessionId);
      result = { outcome: 'reused', userId: session.userId };
    } else {
      session.tokenHash = nextHash;
      result = { outcome: 'rotated', userId: session.userId };
    }
    return Promise.resolve(result);
  }

  userIdOf(sessionId: string): Promise<string | null> {
    return Promise.resolve(this.sessions.get(sessionId)?.userId ?? null);
  }

  revoke(sessionId: string, userId: string): Promise<void> {
    if (this.sessions.get(sessionId)?.userId === userId) this.sessions.delete(sessionId);
    return Promise.resolve();
  }

  sessionsOf(userId: string): Promise<string[]> {
    const ids = [...this.sessions].filter(([, s]) => s.userId === userId).map(([id]) => id);
    return Promise.resolve(ids);
  }

  denylist(tokenId: string): Promise<void> {
    this.denied.add(tokenId);
    return Promise.resolve();
  }

  isAccessAllowed(tokenId: string, sessionId: string): Promise<boolean> {
    return Promise.resolve(!this.denied.has(tokenId) && this.sessions.has(sessionId));
  }
}

type StoredAuto = AutoMessage & { claimToken?: string; claimedAt?: Date };

/** Auto messages with the repository's claim rules: due, unqueued, unclaimed or stale. */
export class FakeAutoMessages implements AutosPort {
  readonly rows = new Map<string, StoredAuto>();

  insertBatch(items: PlannedAutoMessage[]): Promise<void> {
    for (const item of items) {
      const id = fakeId();
      this.rows.set(id, {
        ...item,
        id,
        isQueued: false,
        queuedAt: null,
        isSent: false,
        sentAt: null,
        messageId: null,
        attempts: 0,
        lastError: null,
        createdAt: new Date(),
      });
    }
    return Promise.resolve();
  }

  usersPlannedIn(runId: string): Promise<{ users: Set<string>; pairs: number }> {
    const planned = [...this.rows.values()].filter((a) => a.runId === runId);
    const users = new Set(planned.flatMap((a) => [a.senderId, a.receiverId]));
    return Promise.resolve({ users, pairs: planned.length });
  }

  claimDue(now: Date, staleBefore: Date, token: string, limit: number): Promise<AutoMessage[]> {
    const due = [...this.rows.values()]
      .filter((a) => !a.isQueued && a.sendDate <= now)
      .filter((a) => a.claimedAt === undefined || a.claimedAt < staleBefore)
      .slice(0, limit);
    for (const a of due) Object.assign(a, { claimToken: token, claimedAt: now });
    return Promise.resolve(due.map((a) => ({ ...a })));
  }

  markQueued(ids: string[], token: string, at: Date): Promise<number> {
    const mine = this.claimedBy(ids, token);
    for (const a of mine) {
      Object.assign(a, { isQueued: true, queuedAt: at });
      delete a.claimToken;
      delete a.claimedAt;
    }
    return Promise.resolve(mine.length);
  }

  releaseClaims(ids: string[], token: string): Promise<void> {
    for (const a of this.claimedBy(ids, token)) {
      delete a.claimToken;
      delete a.claimedAt;
    }
    return Promise.resolve();
  }

  findById(id: string): Promise<AutoMessage | null> {
    const a = this.rows.get(id);
    return Promise.resolve(a ? { ...a } : null);
  }

  recordFailure(id: string, error: string): Promise<void> {
    const a = this.rows.get(id);
    if (a) Object.assign(a, { attempts: a.attempts + 1, lastError: error });
    return Promise.resolve();
  }

  markSent(sent: { id: string; messageId: string }, at: Date): Promise<void> {
    return this.markSentMany([sent], at);
  }

  markSentMany(sent: readonly { id: string; messageId: string }[], at: Date): Promise<void> {
    for (const { id, messageId } of sent) {
      const a = this.rows.get(id);
      if (a) Object.assign(a, { isSent: true, sentAt: at, messageId, attempts: a.attempts + 1 });
    }
    return Promise.resolve();
  }

  private claimedBy(ids: string[], token: string): StoredAuto[] {
    return ids.flatMap((id) => {
      const a = this.rows.get(id);
      return a?.claimToken === token ? [a] : [];
    });
  }
}

/** Conversations and the membership cache over them (the cache's truth is the repository). */
export class FakeConversations implements ConversationsPort {
  readonly rows = new Map<string, Conversation & { directKey?: string }>();

  findOrCreateDirectMany(pairs: readonly [string, string][]) {
    const out = new Map<string, { conversation: Conversation; created: boolean }>();
    for (const [a, b] of pairs) {
      const key = directKeyOf(a, b);
      const existing = [...this.rows.values()].find((c) => c.directKey === key);
      const conversation = existing ?? this.insert('direct', a, [a, b], null, key);
      out.set(key, { conversation, created: existing === undefined });
    }
    return Promise.resolve(out);
  }

  createGroup(createdBy: string, participants: string[], name: string): Promise<Conversation> {
    return Promise.resolve(this.insert('group', createdBy, participants, name));
  }

  findForMember(id: string, userId: string): Promise<Conversation | null> {
    const c = this.rows.get(id);
    return Promise.resolve(c?.participants.includes(userId) ? c : null);
  }

  listForMember(userId: string, limit: number): Promise<Conversation[]> {
    const mine = [...this.rows.values()].filter((c) => c.participants.includes(userId));
    return Promise.resolve(mine.slice(0, limit));
  }

  recordMessage(conversationId: string, last: LastMessage): Promise<void> {
    const c = this.rows.get(conversationId);
    if (c && last.createdAt >= c.lastMessageAt) {
      this.rows.set(conversationId, { ...c, lastMessage: last, lastMessageAt: last.createdAt });
    }
    return Promise.resolve();
  }

  async recordMessages(lasts: readonly (LastMessage & { conversationId: string })[]) {
    for (const last of lasts) await this.recordMessage(last.conversationId, last);
  }

  private insert(
    type: Conversation['type'],
    createdBy: string,
    participants: string[],
    name: string | null,
    directKey?: string,
  ): Conversation {
    const now = new Date();
    const conversation = {
      id: fakeId(),
      type,
      participants,
      members: participants.map((userId) => ({
        userId,
        role: userId === createdBy && type === 'group' ? ('owner' as const) : ('member' as const),
        joinedAt: now,
      })),
      version: 1,
      name,
      createdBy,
      lastMessage: null,
      lastMessageAt: now,
      reads: {},
      createdAt: now,
      ...(directKey ? { directKey } : {}),
    };
    this.rows.set(conversation.id, conversation);
    return conversation;
  }
}

export class FakeMembership implements MembershipPort {
  readonly invalidated: string[] = [];

  constructor(private readonly conversations: FakeConversations) {}

  isMember(conversationId: string, userId: string): Promise<string[] | null> {
    const participants = this.conversations.rows.get(conversationId)?.participants ?? [];
    return Promise.resolve(participants.includes(userId) ? participants : null);
  }

  conversationCreated(participants: readonly string[]): Promise<void> {
    this.invalidated.push(...participants);
    return Promise.resolve();
  }
}

import type { ConversationView } from '../../contracts/conversations.js';
import { errors } from '../../errors.js';
import type { PresenceRepository } from '../presence/presence.repository.js';
import { presentSummary } from '../users/users.present.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { ConversationCaches } from './conversation.caches.js';
import type {
  Conversation,
  ConversationsRepository,
  LastMessage,
} from './conversations.repository.js';
import { directKeyOf } from './direct-key.js';
import { GROUP_MAX, type MemberRole } from './group-members.js';
import type { MembershipCache } from './membership.cache.js';

export type CreateConversation =
  { participantId: string } | { participantIds: string[]; name: string };

export const GROUP_MIN = 3;

/**
 * Unread counts for the conversation list. The messages module provides it: messages depend on
 * conversations (membership), never the other way round.
 */
export interface UnreadCounter {
  countUnread(conversationId: string, userId: string, after: string | undefined): Promise<number>;
}

/** What the service uses of each store: narrow, so unit tests can pass in-memory fakes. */
export interface ConversationsServiceDeps {
  conversations: Pick<
    ConversationsRepository,
    'findOrCreateDirectMany' | 'createGroup' | 'findForMember' | 'listForMember' | 'recordMessages'
  >;
  unreadCounter: UnreadCounter;
  users: Pick<UsersRepository, 'findSummaries'>;
  presence: Pick<PresenceRepository, 'areOnline'>;
  membership: Pick<MembershipCache, 'isMember' | 'conversationCreated'>;
  caches: Pick<
    ConversationCaches,
    'newestMessages' | 'firstListPage' | 'messagesChanged' | 'historyChanged' | 'listsChanged'
  >;
}

/** A conversation as the list shows it, before its participants' profiles and presence. */
type ConversationCore = Omit<ConversationView, 'participants'> & {
  members: { userId: string; role: MemberRole }[];
};
interface CorePage {
  items: ConversationCore[];
  nextCursor: string | null;
}

export class ConversationsService {
  constructor(
    private readonly conversations: ConversationsServiceDeps['conversations'],
    private readonly unreadCounter: ConversationsServiceDeps['unreadCounter'],
    private readonly users: ConversationsServiceDeps['users'],
    private readonly presence: ConversationsServiceDeps['presence'],
    private readonly membership: ConversationsServiceDeps['membership'],
    private readonly caches: ConversationsServiceDeps['caches'],
  ) {}

  async create(userId: string, input: CreateConversation) {
    if ('participantId' in input) {
      if (input.participantId === userId)
        throw errors.validation(null, 'You cannot open a conversation with yourself');
      await this.requireUsers([input.participantId]);
      const { conversation, created } = await this.direct(userId, input.participantId);
      return { created, conversation: await this.presentOne(conversation, userId) };
    }
    const participants = [...new Set([userId, ...input.participantIds])];
    if (participants.length < GROUP_MIN || participants.length > GROUP_MAX) {
      throw errors.validation(
        { participants: participants.length },
        `A group has ${GROUP_MIN}–${GROUP_MAX} participants, you included`,
      );
    }
    await this.requireUsers(participants.filter((id) => id !== userId));
    const conversation = await this.conversations.createGroup(userId, participants, input.name);
    await this.conversationCreated(participants);
    return { created: true, conversation: await this.presentOne(conversation, userId) };
  }

  /** The pair's direct conversation, created if missing (caches told about new contacts). */
  async direct(a: string, b: string): Promise<{ conversation: Conversation; created: boolean }> {
    const result = (await this.directMany([[a, b]])).get(directKeyOf(a, b));
    if (!result) throw new Error(`no direct conversation for ${a}/${b}`);
    return result;
  }

  /** `direct` for many pairs at once (a few round trips in all), keyed by directKey. */
  async directMany(pairs: readonly [string, string][]) {
    const results = await this.conversations.findOrCreateDirectMany(pairs);
    const created = [...results.values()].filter((r) => r.created);
    if (created.length > 0) {
      await this.conversationCreated(created.flatMap((r) => r.conversation.participants));
    }
    return results;
  }

  async get(userId: string, conversationId: string) {
    const conversation = await this.conversations.findForMember(conversationId, userId);
    if (!conversation) throw errors.notFound('Conversation');
    return await this.presentOne(conversation, userId);
  }

  /**
   * Mine, newest activity first; the cursor encodes (lastMessageAt, id) of the last item. The
   * first page comes from the cache; profiles and presence are always read fresh.
   */
  async list(userId: string, limit: number, cursor?: string) {
    const page = cursor
      ? await this.loadList(userId, limit, decodeCursor(cursor))
      : await this.caches.firstListPage(userId, limit, () => this.loadList(userId, limit));
    if (!page) throw new Error('the conversation list did not load');
    return { items: await this.withPeople(page.items), nextCursor: page.nextCursor };
  }

  private async loadList(
    userId: string,
    limit: number,
    after?: { lastMessageAt: Date; id: string },
  ): Promise<CorePage> {
    const rows = await this.conversations.listForMember(userId, limit + 1, after);
    const pageRows = rows.slice(0, limit);
    const last = pageRows.at(-1);
    const unread = await Promise.all(pageRows.map((c) => this.unread(c, userId)));
    return {
      items: pageRows.map((c, i) => coreOf(c, unread[i] ?? 0)),
      nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
    };
  }

  /**
   * Stores each conversation's new last message, then drops the caches that show them (its
   * history, every member's list) — one round trip each to MongoDB and Redis per batch: the one
   * call the send paths make.
   */
  async recordMessages(
    lasts: readonly (LastMessage & { conversationId: string; participants: readonly string[] })[],
  ): Promise<void> {
    if (lasts.length === 0) return;
    await this.conversations.recordMessages(lasts);
    await this.caches.messagesChanged(lasts);
  }

  /** After an edit or delete is stored (`content`), or a reaction (`reactions`). */
  messageChanged(
    conversationId: string,
    participants: readonly string[],
    change: 'content' | 'reactions',
  ): Promise<void> {
    return change === 'content'
      ? this.caches.messagesChanged([{ conversationId, participants }])
      : this.caches.historyChanged(conversationId);
  }

  /** A conversation's newest `count` messages through the history cache (`load` on a miss). */
  newestMessages<T>(
    conversationId: string,
    count: number,
    load: () => Promise<T>,
    revive: (json: unknown) => T,
  ): Promise<T | null> {
    return this.caches.newestMessages(conversationId, count, load, revive);
  }

  /** After read pointers or memberships changed: these users' lists. */
  listsChanged(userIds: readonly string[]): Promise<void> {
    return this.caches.listsChanged(userIds);
  }

  private async conversationCreated(participants: readonly string[]): Promise<void> {
    await Promise.all([
      this.membership.conversationCreated(participants),
      this.caches.listsChanged(participants),
    ]);
  }

  /** Participants of a conversation the user belongs to; 404 for everyone else. */
  async requireMember(conversationId: string, userId: string): Promise<string[]> {
    const participants = await this.membership.isMember(conversationId, userId);
    if (!participants) throw errors.notFound('Conversation');
    return participants;
  }

  /** Throws a 400 naming the ids that are not users. */
  async requireUsers(ids: string[]): Promise<void> {
    const found = await this.users.findSummaries(ids);
    if (found.length !== new Set(ids).size) {
      const known = new Set(found.map((u) => u.id));
      throw errors.validation(
        { unknownUserIds: ids.filter((id) => !known.has(id)) },
        'Unknown participant',
      );
    }
  }

  /**
   * One conversation as each of `viewerIds` sees it (their own unreadCount), for events sent to
   * many users; a viewer who is no longer a member sees 0 unread.
   */
  async presentTo(conversation: Conversation, viewerIds: readonly string[]) {
    const [describe, unread] = await Promise.all([
      this.describer([conversation.members]),
      Promise.all(
        viewerIds.map((viewerId) =>
          conversation.participants.includes(viewerId)
            ? this.unread(conversation, viewerId)
            : Promise.resolve(0),
        ),
      ),
    ]);
    return viewerIds.map((userId, i) => ({
      userId,
      conversation: describe(coreOf(conversation, unread[i] ?? 0)),
    }));
  }

  private async presentOne(conversation: Conversation, viewerId: string) {
    const [view] = await this.present([conversation], viewerId);
    if (!view) throw new Error(`conversation ${conversation.id} was not presented`);
    return view;
  }

  private async present(
    conversations: Conversation[],
    viewerId: string,
  ): Promise<ConversationView[]> {
    const unread = await Promise.all(conversations.map((c) => this.unread(c, viewerId)));
    return this.withPeople(conversations.map((c, i) => coreOf(c, unread[i] ?? 0)));
  }

  private unread(conversation: Conversation, viewerId: string): Promise<number> {
    const pointer = conversation.reads[viewerId]?.messageId;
    return this.unreadCounter.countUnread(conversation.id, viewerId, pointer);
  }

  private async withPeople(cores: ConversationCore[]): Promise<ConversationView[]> {
    const describe = await this.describer(cores.map((c) => c.members));
    return cores.map(describe);
  }

  /** Loads what every viewer sees the same and changes often: profiles and presence. */
  private async describer(memberLists: readonly { userId: string }[][]) {
    const userIds = [...new Set(memberLists.flatMap((members) => members.map((m) => m.userId)))];
    const [summaries, online] = await Promise.all([
      this.users.findSummaries(userIds),
      this.presence.areOnline(userIds),
    ]);
    const onlineById = new Map(userIds.map((id, i) => [id, online[i] ?? false]));
    const byId = new Map(summaries.map((u) => [u.id, u]));
    return ({ members, ...core }: ConversationCore): ConversationView => ({
      ...core,
      participants: members.flatMap(({ userId: id, role }) => {
        const u = byId.get(id);
        if (!u) return [];
        const summary = presentSummary(u, onlineById.get(id) ?? false);
        return [core.type === 'group' ? { ...summary, role } : summary];
      }),
    });
  }
}

/** Everything of a conversation's view but the participants' profiles: plain JSON, cacheable. */
function coreOf(c: Conversation, unreadCount: number): ConversationCore {
  return {
    id: c.id,
    type: c.type,
    members: c.members.map(({ userId, role }) => ({ userId, role })),
    ...(c.name ? { name: c.name } : {}),
    ...(c.lastMessage
      ? {
          lastMessage: {
            id: c.lastMessage.id,
            senderId: c.lastMessage.senderId,
            preview: c.lastMessage.preview,
            createdAt: c.lastMessage.createdAt.toISOString(),
          },
        }
      : {}),
    lastMessageAt: c.lastMessageAt.toISOString(),
    unreadCount,
    createdAt: c.createdAt.toISOString(),
  };
}

function encodeCursor(c: Conversation): string {
  return Buffer.from(`${c.lastMessageAt.getTime()}_${c.id}`).toString('base64url');
}

function decodeCursor(cursor: string) {
  const match = /^(\d{1,15})_([0-9a-f]{24})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match?.[1] || !match[2]) throw errors.validation({ cursor }, 'Invalid cursor');
  return { lastMessageAt: new Date(Number(match[1])), id: match[2] };
}

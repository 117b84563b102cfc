import type { ConversationView } from '../../contracts/conversations.js';
import { errors } from '../../errors.js';
import type { PresenceRepository } from '../presence/presence.repository.js';
import { presentSummary } from '../users/users.present.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { Conversation, ConversationsRepository } from './conversations.repository.js';
import { directKeyOf } from './direct-key.js';
import { GROUP_MAX } from './group-members.js';
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
    'findOrCreateDirectMany' | 'createGroup' | 'findForMember' | 'listForMember'
  >;
  unreadCounter: UnreadCounter;
  users: Pick<UsersRepository, 'findSummaries'>;
  presence: Pick<PresenceRepository, 'areOnline'>;
  membership: Pick<MembershipCache, 'isMember' | 'conversationCreated'>;
}

export class ConversationsService {
  constructor(
    private readonly conversations: ConversationsServiceDeps['conversations'],
    private readonly unreadCounter: ConversationsServiceDeps['unreadCounter'],
    private readonly users: ConversationsServiceDeps['users'],
    private readonly presence: ConversationsServiceDeps['presence'],
    private readonly membership: ConversationsServiceDeps['membership'],
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
    await this.membership.conversationCreated(participants);
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
      await this.membership.conversationCreated(
        created.flatMap((r) => r.conversation.participants),
      );
    }
    return results;
  }

  async get(userId: string, conversationId: string) {
    const conversation = await this.conversations.findForMember(conversationId, userId);
    if (!conversation) throw errors.notFound('Conversation');
    return await this.presentOne(conversation, userId);
  }

  /** Mine, newest activity first; the cursor encodes (lastMessageAt, id) of the last item. */
  async list(userId: string, limit: number, cursor?: string) {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const rows = await this.conversations.listForMember(userId, limit + 1, after);
    const pageRows = rows.slice(0, limit);
    const last = pageRows.at(-1);
    return {
      items: await this.present(pageRows, userId),
      nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
    };
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
      this.describer([conversation]),
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
      conversation: describe(conversation, unread[i] ?? 0),
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
    const [describe, unread] = await Promise.all([
      this.describer(conversations),
      Promise.all(conversations.map((c) => this.unread(c, viewerId))),
    ]);
    return conversations.map((c, i) => describe(c, unread[i] ?? 0));
  }

  private unread(conversation: Conversation, viewerId: string): Promise<number> {
    const pointer = conversation.reads[viewerId]?.messageId;
    return this.unreadCounter.countUnread(conversation.id, viewerId, pointer);
  }

  /** Loads what every viewer sees the same (member summaries, presence) for these conversations. */
  private async describer(conversations: Conversation[]) {
    const userIds = [...new Set(conversations.flatMap((c) => c.participants))];
    const [summaries, online] = await Promise.all([
      this.users.findSummaries(userIds),
      this.presence.areOnline(userIds),
    ]);
    const onlineById = new Map(userIds.map((id, i) => [id, online[i] ?? false]));
    const byId = new Map(summaries.map((u) => [u.id, u]));
    return (c: Conversation, unreadCount: number): ConversationView => ({
      id: c.id,
      type: c.type,
      participants: c.members.flatMap(({ userId: id, role }) => {
        const u = byId.get(id);
        if (!u) return [];
        const summary = presentSummary(u, onlineById.get(id) ?? false);
        return [c.type === 'group' ? { ...summary, role } : summary];
      }),
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
    });
  }
}

function encodeCursor(c: Conversation): string {
  return Buffer.from(`${c.lastMessageAt.getTime()}_${c.id}`).toString('base64url');
}

function decodeCursor(cursor: string) {
  const match = /^(\d{1,15})_([0-9a-f]{24})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match?.[1] || !match[2]) throw errors.validation({ cursor }, 'Invalid cursor');
  return { lastMessageAt: new Date(Number(match[1])), id: match[2] };
}

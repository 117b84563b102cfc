import {
  domainEvent,
  noWake,
  OUTBOX_INDEX,
  outboxOnInsert,
  outboxPush,
  type OutboxFields,
  type OutboxWritten,
} from '../events/outbox.js';
import { ObjectId, type Collection, type Db, type IndexDescription, type Filter } from 'mongodb';
import { duplicateIndexes } from '../../infra/duplicate-key.js';
import { parseObjectId } from '../../infra/ids.js';
import { directKeyOf } from './direct-key.js';
import type { Member, MemberRole } from './group-members.js';

export interface LastMessage {
  id: string;
  senderId: string;
  preview: string;
  createdAt: Date;
}

export interface ReadPointer {
  messageId: string;
  readAt: Date;
}

/** A conversation's members; `fixed`: they never change (a direct conversation). */
export interface Membership {
  participants: string[];
  fixed?: true;
}

export interface Conversation {
  id: string;
  type: 'direct' | 'group';
  participants: string[];
  /** Roles and join times; direct conversations' two members are both `member`. */
  members: Member[];
  /** Bumped by every membership change (compare-and-set, see GroupMembersRepository). */
  version: number;
  name: string | null;
  createdBy: string;
  lastMessage: LastMessage | null;
  lastMessageAt: Date;
  reads: Record<string, ReadPointer>;
  createdAt: Date;
}

export interface ConversationDoc extends OutboxFields {
  _id: ObjectId;
  type: 'direct' | 'group';
  /** Member ids: the indexed list every membership query reads. */
  participants: ObjectId[];
  /** Groups: the same members with role and join time, written together with `participants`. */
  members?: { userId: ObjectId; role: MemberRole; joinedAt: Date }[];
  version?: number;
  directKey?: string;
  name?: string;
  createdBy: ObjectId;
  lastMessage?: { id: ObjectId; senderId: ObjectId; preview: string; createdAt: Date };
  lastMessageAt: Date;
  reads?: Record<string, { messageId: ObjectId; readAt: Date }>;
  createdAt: Date;
  updatedAt: Date;
}

export interface ListCursor {
  lastMessageAt: Date;
  id: string;
}

/** The collection's indexes (also used by the engine benchmark, so both measure the same). */
export const CONVERSATION_INDEXES: IndexDescription[] = [
  { key: { participants: 1, lastMessageAt: -1, _id: -1 }, name: 'by_participant_activity' },
  { key: { directKey: 1 }, name: 'direct_pair_unique', unique: true, sparse: true },
  OUTBOX_INDEX,
];

/**
 * `conversations` collection. Indexes:
 * - `participants, lastMessageAt desc, _id desc` (multikey): a user's conversations, newest
 *   activity first, and membership lookups.
 * - `directKey` unique, sparse: the two user ids sorted, so a pair has exactly one direct
 *   conversation even when both create it at the same moment.
 * Read state lives on the conversation as `reads.<userId> = {messageId, readAt}`: one write per
 * read action, whatever the number of messages read.
 */
export class ConversationsRepository {
  private readonly conversations: Collection<ConversationDoc>;

  constructor(
    db: Db,
    private readonly written: OutboxWritten = noWake,
  ) {
    this.conversations = db.collection<ConversationDoc>('conversations');
  }

  async ensureIndexes(): Promise<void> {
    await this.conversations.createIndexes(CONVERSATION_INDEXES);
  }

  /**
   * Many pairs' direct conversations in three round trips (find, insert the missing, re-read the
   * ones another process created meanwhile), keyed by directKey.
   */
  async findOrCreateDirectMany(
    pairs: readonly [string, string][],
  ): Promise<Map<string, { conversation: Conversation; created: boolean }>> {
    const wanted = new Map(pairs.map(([a, b]) => [directKeyOf(a, b), [a, b] as const]));
    const found = new Map<string, { conversation: Conversation; created: boolean }>();
    const existing = await this.conversations
      .find({ directKey: { $in: [...wanted.keys()] } })
      .toArray();
    const keep = (doc: ConversationDoc, created: boolean) =>
      found.set(doc.directKey as string, { conversation: toConversation(doc), created });
    for (const doc of existing) keep(doc, false);
    const now = new Date();
    const missing = [...wanted]
      .filter(([key]) => !found.has(key))
      .map(([, [a, b]]) => newDirectDoc(a, b, now));
    if (missing.length === 0) return found;
    const lost = new Set<string>();
    try {
      await this.conversations.insertMany(missing, { ordered: false });
    } catch (error) {
      for (const index of duplicateIndexes(error)) lost.add(missing[index]?.directKey as string);
      if (lost.size === 0) throw error;
    }
    if (lost.size < missing.length) this.written();
    for (const doc of missing) if (!lost.has(doc.directKey as string)) keep(doc, true);
    if (lost.size > 0) {
      const winners = await this.conversations.find({ directKey: { $in: [...lost] } }).toArray();
      for (const doc of winners) keep(doc, false);
    }
    return found;
  }

  async createGroup(
    createdBy: string,
    participants: string[],
    name: string,
  ): Promise<Conversation> {
    const now = new Date();
    const _id = new ObjectId();
    const created = domainEvent('conversation.created', _id.toHexString(), createdBy, {
      conversationId: _id.toHexString(),
      type: 'group',
      participantIds: participants,
      name,
      createdBy,
    });
    const doc: ConversationDoc = {
      _id,
      type: 'group',
      participants: participants.map((id) => new ObjectId(id)),
      members: participants.map((id) => ({
        userId: new ObjectId(id),
        role: id === createdBy ? 'owner' : 'member',
        joinedAt: now,
      })),
      version: 0,
      name,
      createdBy: new ObjectId(createdBy),
      lastMessageAt: now,
      createdAt: now,
      updatedAt: now,
      ...outboxOnInsert([created], now),
    };
    await this.conversations.insertOne(doc);
    this.written();
    return toConversation(doc);
  }

  async findById(id: string): Promise<Conversation | null> {
    const _id = parseObjectId(id);
    if (!_id) return null;
    const doc = await this.conversations.findOne({ _id });
    return doc ? toConversation(doc) : null;
  }

  /** The conversation if `userId` is a member; null otherwise (callers answer 404). */
  async findForMember(id: string, userId: string): Promise<Conversation | null> {
    const _id = parseObjectId(id);
    const member = parseObjectId(userId);
    if (!_id || !member) return null;
    const doc = await this.conversations.findOne({ _id, participants: member });
    return doc ? toConversation(doc) : null;
  }

  /** Type and name of each conversation that exists (search results name where they were found). */
  async findSummaries(
    ids: readonly string[],
  ): Promise<{ id: string; type: Conversation['type']; name: string | null }[]> {
    if (ids.length === 0) return [];
    const docs = await this.conversations
      .find(
        { _id: { $in: ids.map((id) => new ObjectId(id)) } },
        { projection: { type: 1, name: 1 } },
      )
      .toArray();
    return docs.map((d) => ({ id: d._id.toHexString(), type: d.type, name: d.name ?? null }));
  }

  async participantsOf(id: string): Promise<string[] | null> {
    return (await this.membershipOf(id))?.participants ?? null;
  }

  /** The members, and whether they can ever change (a direct conversation's never do). */
  async membershipOf(id: string): Promise<Membership | null> {
    const _id = parseObjectId(id);
    if (!_id) return null;
    const doc = await this.conversations.findOne(
      { _id },
      { projection: { participants: 1, type: 1 } },
    );
    if (!doc) return null;
    const participants = doc.participants.map((p) => p.toHexString());
    return doc.type === 'direct' ? { participants, fixed: true } : { participants };
  }

  async listForMember(userId: string, limit: number, cursor?: ListCursor): Promise<Conversation[]> {
    const member = new ObjectId(userId);
    const filter: Filter<ConversationDoc> = { participants: member };
    if (cursor) {
      filter.$or = [
        { lastMessageAt: { $lt: cursor.lastMessageAt } },
        { lastMessageAt: cursor.lastMessageAt, _id: { $lt: new ObjectId(cursor.id) } },
      ];
    }
    const docs = await this.conversations
      .find(filter)
      .sort({ lastMessageAt: -1, _id: -1 })
      .limit(limit)
      .toArray();
    return docs.map(toConversation);
  }

  async idsForMember(userId: string): Promise<string[]> {
    const docs = await this.conversations
      .find({ participants: new ObjectId(userId) }, { projection: { _id: 1 } })
      .toArray();
    return docs.map((d) => d._id.toHexString());
  }

  /** Everyone who shares a conversation with the user (presence goes to them). */
  async contactsOf(userId: string): Promise<string[]> {
    const ids = await this.conversations.distinct('participants', {
      participants: new ObjectId(userId),
    });
    return ids.map((id: ObjectId) => id.toHexString()).filter((id: string) => id !== userId);
  }

  /** Moves the conversation's last message forward, never back. */
  async recordMessage(conversationId: string, last: LastMessage): Promise<void> {
    const { filter, update } = recordMessageUpdate(conversationId, last);
    await this.conversations.updateOne(filter, update);
  }

  /** `recordMessage` for many conversations in one round trip. */
  async recordMessages(
    lasts: readonly (LastMessage & { conversationId: string })[],
  ): Promise<void> {
    if (lasts.length === 0) return;
    await this.conversations.bulkWrite(
      lasts.map((last) => ({ updateOne: recordMessageUpdate(last.conversationId, last) })),
      { ordered: false },
    );
  }

  /** Rewrites the last-message preview after that message was edited or deleted. */
  async refreshPreview(conversationId: string, messageId: string, preview: string): Promise<void> {
    await this.conversations.updateOne(
      { _id: new ObjectId(conversationId), 'lastMessage.id': new ObjectId(messageId) },
      { $set: { 'lastMessage.preview': preview } },
    );
  }

  /** Advances a member's read pointer; returns false when it was already at or past it. */
  async markRead(
    conversationId: string,
    userId: string,
    messageId: string,
    at: Date,
  ): Promise<boolean> {
    const field = `reads.${userId}.messageId`;
    const mid = new ObjectId(messageId);
    const read = domainEvent('message.read', conversationId, userId, {
      conversationId,
      userId,
      messageId,
      readAt: at.toISOString(),
    });
    const result = await this.conversations.updateOne(
      {
        _id: new ObjectId(conversationId),
        $or: [{ [field]: { $exists: false } }, { [field]: { $lt: mid } }],
      },
      { $set: { [`reads.${userId}`]: { messageId: mid, readAt: at } }, ...outboxPush([read], at) },
    );
    if (result.modifiedCount !== 1) return false;
    this.written();
    return true;
  }
}

function newDirectDoc(a: string, b: string, now: Date): ConversationDoc {
  const _id = new ObjectId();
  const conversationId = _id.toHexString();
  const created = domainEvent('conversation.created', conversationId, a, {
    conversationId,
    type: 'direct',
    participantIds: [a, b],
    createdBy: a,
  });
  return {
    _id,
    type: 'direct',
    participants: [new ObjectId(a), new ObjectId(b)],
    directKey: directKeyOf(a, b),
    createdBy: new ObjectId(a),
    lastMessageAt: now,
    createdAt: now,
    updatedAt: now,
    ...outboxOnInsert([created], now),
  };
}

/** Moves the last message forward only, and the sender's read pointer with it. */
function recordMessageUpdate(conversationId: string, last: LastMessage) {
  return {
    filter: { _id: new ObjectId(conversationId), lastMessageAt: { $lte: last.createdAt } },
    update: {
      $set: {
        lastMessage: {
          id: new ObjectId(last.id),
          senderId: new ObjectId(last.senderId),
          preview: last.preview,
          createdAt: last.createdAt,
        },
        lastMessageAt: last.createdAt,
        updatedAt: new Date(),
        [`reads.${last.senderId}`]: { messageId: new ObjectId(last.id), readAt: last.createdAt },
      },
    },
  };
}

export function toConversation(doc: ConversationDoc): Conversation {
  const reads: Record<string, ReadPointer> = {};
  for (const [userId, r] of Object.entries(doc.reads ?? {})) {
    reads[userId] = { messageId: r.messageId.toHexString(), readAt: r.readAt };
  }
  return {
    id: doc._id.toHexString(),
    type: doc.type,
    participants: doc.participants.map((p) => p.toHexString()),
    members: membersOf(doc),
    version: doc.version ?? 0,
    name: doc.name ?? null,
    createdBy: doc.createdBy.toHexString(),
    lastMessage: doc.lastMessage
      ? {
          id: doc.lastMessage.id.toHexString(),
          senderId: doc.lastMessage.senderId.toHexString(),
          preview: doc.lastMessage.preview,
          createdAt: doc.lastMessage.createdAt,
        }
      : null,
    lastMessageAt: doc.lastMessageAt,
    reads,
    createdAt: doc.createdAt,
  };
}

/** Stored roles, or (direct conversations, groups made before roles) the creator as owner. */
function membersOf(doc: ConversationDoc): Member[] {
  if (doc.members) {
    return doc.members.map((m) => ({
      userId: m.userId.toHexString(),
      role: m.role,
      joinedAt: m.joinedAt,
    }));
  }
  return doc.participants.map((p) => ({
    userId: p.toHexString(),
    role: doc.type === 'group' && p.equals(doc.createdBy) ? 'owner' : 'member',
    joinedAt: doc.createdAt,
  }));
}

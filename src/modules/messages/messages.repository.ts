import { ObjectId, type Collection, type Db, type IndexDescription, type Filter } from 'mongodb';
import { duplicateIndexes, isDuplicateKeyError } from '../../infra/duplicate-key.js';
import { parseObjectId } from '../../infra/ids.js';
import type { SystemEvent } from '../../contracts/messages.js';
import {
  domainEvent,
  noWake,
  OUTBOX_INDEX,
  outboxOnInsert,
  type OutboxFields,
  type OutboxWritten,
} from '../events/outbox.js';
import type { AttachmentView } from '../../contracts/media.js';
import { searchText } from '../../lib/fold.js';

export type MessageType = 'text' | 'auto' | 'system';

/** One emoji's reactions, in the order the emoji was first used on the message. */
export interface ReactionGroup {
  emoji: string;
  userIds: string[];
}

/** What a `type: system` message records, for clients that render it themselves. */
export interface Message {
  id: string;
  conversationId: string;
  senderId: string;
  content: string;
  type: MessageType;
  clientMessageId?: string;
  autoMessageId?: string;
  system?: SystemEvent;
  /** Snapshots of the attachments as they were when sent. */
  attachments?: AttachmentView[];
  reactions: ReactionGroup[];
  editedAt?: Date;
  deletedAt?: Date;
  createdAt: Date;
}

export type NewMessage = Omit<Message, 'id' | 'createdAt' | 'reactions' | 'editedAt' | 'deletedAt'>;

/**
 * Reactions are stored flat, one `{emoji, userId}` per reaction, so adding and removing one are
 * single `$addToSet` / `$pull` updates; `reactionEmojis` lists the distinct emoji (first use
 * first), which bounds them atomically (see MessageChangesRepository).
 */
export interface MessageDoc extends OutboxFields {
  _id: ObjectId;
  conversationId: ObjectId;
  senderId: ObjectId;
  content: string;
  type: MessageType;
  clientMessageId?: string;
  autoMessageId?: ObjectId;
  system?: { action: SystemEvent['action']; userIds?: ObjectId[]; name?: string; role?: string };
  reactions?: { emoji: string; userId: ObjectId }[];
  reactionEmojis?: string[];
  attachments?: AttachmentView[];
  /**
   * The content folded for search (lib/fold.ts), indexed by the search module's text index.
   * Absent on system notices, tombstones and messages without words.
   */
  searchText?: string;
  editedAt?: Date;
  deletedAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** The `searchText` a message with this content and type stores, if any. */
export function searchTextOf(type: MessageType, content: string): string | undefined {
  if (type === 'system') return undefined;
  return searchText(content) || undefined;
}

/** Where a catch-up page starts: after `id`, optionally looking back `lookbackSeconds` before it. */
export interface CatchUpStart {
  id: string;
  lookbackSeconds: number;
}

/** Unread counts stop here: past it clients show "999+", and counting stays cheap. */
export const UNREAD_CAP = 999;

/** The collection's indexes (also used by the engine benchmark, so both measure the same). */
export const MESSAGE_INDEXES: IndexDescription[] = [
  { key: { conversationId: 1, _id: -1 }, name: 'history' },
  {
    key: { senderId: 1, clientMessageId: 1 },
    name: 'client_message_id_unique',
    unique: true,
    partialFilterExpression: { clientMessageId: { $type: 'string' } },
  },
  {
    key: { autoMessageId: 1 },
    name: 'auto_message_unique',
    unique: true,
    partialFilterExpression: { autoMessageId: { $exists: true } },
  },
  OUTBOX_INDEX,
];

/**
 * `messages` collection. Indexes:
 * - `conversationId, _id desc`: history pages, catch-up (`after`), unread counts — all range
 *   walks of one conversation in `_id` order, never skip/offset.
 * - `senderId, clientMessageId` unique where clientMessageId is a string: a retried send
 *   finds the original instead of creating a second message.
 * - `autoMessageId` unique where present: a redelivered auto-message job cannot insert twice.
 */
export class MessagesRepository {
  private readonly messages: Collection<MessageDoc>;

  constructor(
    db: Db,
    private readonly written: OutboxWritten = noWake,
  ) {
    this.messages = db.collection<MessageDoc>('messages');
  }

  async ensureIndexes(): Promise<void> {
    await this.messages.createIndexes(MESSAGE_INDEXES);
  }

  /**
   * Inserts, or returns the message already stored under the same idempotency key
   * (sender + clientMessageId, or autoMessageId). `created` is false for the latter.
   */
  async insertOnce(data: NewMessage): Promise<{ message: Message; created: boolean }> {
    const doc = toDoc(data, new Date());
    try {
      await this.messages.insertOne(doc);
      this.written();
      return { message: toMessage(doc), created: true };
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const original = await this.findByIdempotencyKey(doc);
      if (!original) throw error;
      return { message: original, created: false };
    }
  }

  /**
   * `insertOnce` for many auto messages in two round trips: an unordered insert, then one read
   * of the originals the unique autoMessageId index refused. Order of results = order of input.
   */
  async insertManyAutoOnce(
    items: readonly NewMessage[],
  ): Promise<{ message: Message; created: boolean }[]> {
    const now = new Date();
    const docs = items.map((data) => toDoc(data, now));
    const refused = new Set<number>();
    let refusal: unknown = null;
    try {
      if (docs.length > 0) await this.messages.insertMany(docs, { ordered: false });
    } catch (error) {
      for (const index of duplicateIndexes(error)) refused.add(index);
      if (refused.size === 0) throw error;
      refusal = error;
    }
    if (refused.size < docs.length) this.written();
    const originals = new Map<string, Message>();
    if (refused.size > 0) {
      const ids = [...refused]
        .map((i) => docs[i]?.autoMessageId)
        .filter((id): id is ObjectId => id !== undefined);
      for (const doc of await this.messages.find({ autoMessageId: { $in: ids } }).toArray()) {
        originals.set(doc.autoMessageId?.toHexString() ?? '', toMessage(doc));
      }
    }
    return docs.map((doc, i) => {
      if (!refused.has(i)) return { message: toMessage(doc), created: true };
      const original = originals.get(doc.autoMessageId?.toHexString() ?? '');
      // Refused by another unique index, not as a redelivery: the insert's own error says why.
      if (!original) throw refusal;
      return { message: original, created: false };
    });
  }

  async findInConversation(conversationId: string, messageId: string): Promise<Message | null> {
    const _id = parseObjectId(messageId);
    if (!_id) return null;
    const doc = await this.messages.findOne({ _id, conversationId: new ObjectId(conversationId) });
    return doc ? toMessage(doc) : null;
  }

  /** The messages with these ids that still exist, in no particular order. */
  async findByIds(ids: readonly string[]): Promise<Message[]> {
    if (ids.length === 0) return [];
    const docs = await this.messages
      .find({ _id: { $in: ids.map((id) => new ObjectId(id)) } })
      .toArray();
    return docs.map(toMessage);
  }

  /** Newest first, strictly older than `before`. */
  async pageBefore(conversationId: string, limit: number, before?: string): Promise<Message[]> {
    const filter: Filter<MessageDoc> = { conversationId: new ObjectId(conversationId) };
    if (before) filter._id = { $lt: new ObjectId(before) };
    const docs = await this.messages.find(filter).sort({ _id: -1 }).limit(limit).toArray();
    return docs.map(toMessage);
  }

  /** Oldest first, strictly newer than `after`: what a reconnecting client missed. */
  async pageAfter(conversationId: string, limit: number, after: CatchUpStart): Promise<Message[]> {
    const filter = {
      conversationId: new ObjectId(conversationId),
      _id: { $gt: lowerBound(after) },
    };
    const docs = await this.messages.find(filter).sort({ _id: 1 }).limit(limit).toArray();
    return docs.map(toMessage);
  }

  /** Messages newer than `after` across several conversations, oldest first. */
  async pageAfterAcross(
    conversationIds: string[],
    limit: number,
    after: CatchUpStart,
  ): Promise<Message[]> {
    if (conversationIds.length === 0) return [];
    const filter = {
      conversationId: { $in: conversationIds.map((id) => new ObjectId(id)) },
      _id: { $gt: lowerBound(after) },
    };
    const docs = await this.messages.find(filter).sort({ _id: 1 }).limit(limit).toArray();
    return docs.map(toMessage);
  }

  /**
   * Messages from others after the read pointer, counted up to UNREAD_CAP. Deleted messages and
   * system notices (someone joined, the group was renamed) are not waiting to be read.
   */
  async countUnread(
    conversationId: string,
    userId: string,
    after: string | undefined,
  ): Promise<number> {
    const filter: Filter<MessageDoc> = {
      conversationId: new ObjectId(conversationId),
      senderId: { $ne: new ObjectId(userId) },
      deletedAt: { $exists: false },
      type: { $ne: 'system' },
    };
    if (after) filter._id = { $gt: new ObjectId(after) };
    return this.messages.countDocuments(filter, { limit: UNREAD_CAP });
  }

  private async findByIdempotencyKey(doc: MessageDoc): Promise<Message | null> {
    const filter: Filter<MessageDoc> = doc.autoMessageId
      ? { autoMessageId: doc.autoMessageId }
      : { senderId: doc.senderId, clientMessageId: doc.clientMessageId };
    const found = await this.messages.findOne(filter);
    return found ? toMessage(found) : null;
  }
}

/**
 * ObjectIds from different processes are ordered by second, then by a per-process random part,
 * and a message may become visible a moment after its id was made: a catch-up that starts from
 * the client's newest id looks back to the start of an earlier second, to cover messages other
 * instances stored out of id order.
 */
function lowerBound(after: CatchUpStart): ObjectId {
  const id = new ObjectId(after.id);
  if (after.lookbackSeconds === 0) return id;
  const seconds = Math.floor(id.getTimestamp().getTime() / 1000) - after.lookbackSeconds;
  return ObjectId.createFromTime(Math.max(0, seconds));
}

function toDoc(data: NewMessage, now: Date): MessageDoc {
  const folded = searchTextOf(data.type, data.content);
  const _id = new ObjectId();
  const created = domainEvent(
    'message.created',
    _id.toHexString(),
    data.type === 'auto' ? null : data.senderId,
    {
      messageId: _id.toHexString(),
      conversationId: data.conversationId,
      senderId: data.senderId,
      type: data.type,
      content: data.content,
      ...(data.attachments?.length ? { attachmentIds: data.attachments.map((a) => a.id) } : {}),
      createdAt: now.toISOString(),
    },
    now,
  );
  return {
    _id,
    conversationId: new ObjectId(data.conversationId),
    senderId: new ObjectId(data.senderId),
    content: data.content,
    type: data.type,
    ...(data.clientMessageId ? { clientMessageId: data.clientMessageId } : {}),
    ...(data.autoMessageId ? { autoMessageId: new ObjectId(data.autoMessageId) } : {}),
    ...(data.system ? { system: toSystemDoc(data.system) } : {}),
    ...(data.attachments?.length ? { attachments: data.attachments } : {}),
    ...(folded ? { searchText: folded } : {}),
    createdAt: now,
    updatedAt: now,
    ...outboxOnInsert([created], now),
  };
}

function toSystemDoc(event: SystemEvent): NonNullable<MessageDoc['system']> {
  return {
    action: event.action,
    ...(event.userIds ? { userIds: event.userIds.map((id) => new ObjectId(id)) } : {}),
    ...(event.name !== undefined ? { name: event.name } : {}),
    ...(event.role !== undefined ? { role: event.role } : {}),
  };
}

export function toMessage(doc: MessageDoc): Message {
  return {
    id: doc._id.toHexString(),
    conversationId: doc.conversationId.toHexString(),
    senderId: doc.senderId.toHexString(),
    content: doc.content,
    type: doc.type,
    ...(doc.clientMessageId ? { clientMessageId: doc.clientMessageId } : {}),
    ...(doc.autoMessageId ? { autoMessageId: doc.autoMessageId.toHexString() } : {}),
    ...(doc.system
      ? {
          system: {
            action: doc.system.action,
            ...(doc.system.userIds
              ? { userIds: doc.system.userIds.map((u) => u.toHexString()) }
              : {}),
            ...(doc.system.name !== undefined ? { name: doc.system.name } : {}),
            ...(doc.system.role !== undefined ? { role: doc.system.role } : {}),
          },
        }
      : {}),
    reactions: groupReactions(doc),
    ...(doc.attachments?.length ? { attachments: doc.attachments } : {}),
    ...(doc.editedAt ? { editedAt: doc.editedAt } : {}),
    ...(doc.deletedAt ? { deletedAt: doc.deletedAt } : {}),
    createdAt: doc.createdAt,
  };
}

function groupReactions(doc: MessageDoc): ReactionGroup[] {
  const groups = new Map<string, string[]>((doc.reactionEmojis ?? []).map((emoji) => [emoji, []]));
  for (const { emoji, userId } of doc.reactions ?? [])
    groups.get(emoji)?.push(userId.toHexString());
  return [...groups]
    .filter(([, userIds]) => userIds.length > 0)
    .map(([emoji, userIds]) => ({ emoji, userIds }));
}

import { ObjectId, type Collection, type Db, type IndexDescription, type Filter } from 'mongodb';
import {
  isDuplicateKeyError,
  refusedDocuments,
  type RefusedDocument,
} from '../../infra/duplicate-key.js';
import { asError } from '../../errors.js';
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
  async insertOnce(data: NewMessage): Promise<Stored> {
    return this.insertDocOnce(toDoc(data, new Date()));
  }

  /**
   * `insertOnce` for many messages (group commit): one unordered insert, and only when some were
   * refused as duplicates one read of their originals (also of originals stored earlier in the
   * same batch). One outcome per item, in input order: what `insertOnce` returns, or the error
   * that refused that item alone. A write that failed as a whole (no per-document errors) is
   * retried one document at a time with the same ids, so one bad document never fails the
   * others and a document the failed write did store is not stored twice.
   */
  async insertManyOnce(items: readonly NewMessage[]): Promise<(Stored | Error)[]> {
    const now = new Date();
    const docs = items.map((data) => toDoc(data, now));
    if (docs.length <= 1)
      return Promise.all(docs.map((doc) => this.insertDocOnce(doc).catch(asError)));
    let refused = new Map<number, RefusedDocument>();
    try {
      await this.messages.insertMany(docs, { ordered: false });
    } catch (error) {
      const perDocument = refusedDocuments(error);
      if (!perDocument)
        return Promise.all(docs.map((doc) => this.insertDocOnce(doc).catch(asError)));
      refused = perDocument;
    }
    if (refused.size < docs.length) this.written();
    const duplicates = docs.filter((_, i) => refused.get(i)?.code === 11000);
    const originals = await this.originalsOf(duplicates);
    return docs.map((doc, i) => {
      const reason = refused.get(i);
      if (!reason) return { message: toMessage(doc), created: true };
      const original = reason.code === 11000 ? originals.get(idempotencyKeyOf(doc)) : undefined;
      return original ? { message: original, created: false } : refusal(reason);
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

  private async insertDocOnce(doc: MessageDoc): Promise<Stored> {
    try {
      await this.messages.insertOne(doc);
      this.written();
      return { message: toMessage(doc), created: true };
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const original = (await this.originalsOf([doc])).get(idempotencyKeyOf(doc));
      if (!original) throw error;
      // This very document, stored by an earlier attempt whose outcome was lost.
      return { message: original, created: original.id === doc._id.toHexString() };
    }
  }

  /**
   * The stored messages under these documents' idempotency keys (the document's own id when it
   * has none), by `idempotencyKeyOf`: at most one read per kind of key.
   */
  private async originalsOf(docs: readonly MessageDoc[]): Promise<Map<string, Message>> {
    const found = new Map<string, Message>();
    if (docs.length === 0) return found;
    const autos = docs.flatMap((d) => (d.autoMessageId ? [d.autoMessageId] : []));
    const clients = docs.filter((d) => !d.autoMessageId && d.clientMessageId !== undefined);
    const plain = docs.filter((d) => !d.autoMessageId && d.clientMessageId === undefined);
    const filters: Filter<MessageDoc>[] = [];
    if (autos.length) filters.push({ autoMessageId: { $in: autos } });
    if (clients.length) {
      filters.push({
        senderId: { $in: clients.map((d) => d.senderId) },
        clientMessageId: { $in: clients.map((d) => d.clientMessageId as string) },
      });
    }
    if (plain.length) filters.push({ _id: { $in: plain.map((d) => d._id) } });
    const wanted = new Set(docs.map(idempotencyKeyOf));
    for (const filter of filters) {
      for (const doc of await this.messages.find(filter).toArray()) {
        const key = idempotencyKeyOf(doc);
        if (wanted.has(key)) found.set(key, toMessage(doc));
      }
    }
    return found;
  }
}

/** What a send stored: its message, or the original a retry found (`created` false). */
export interface Stored {
  message: Message;
  created: boolean;
}

/** The unique key a message is stored once under; its own id when it has none. */
function idempotencyKeyOf(doc: MessageDoc): string {
  if (doc.autoMessageId) return `a:${doc.autoMessageId.toHexString()}`;
  if (doc.clientMessageId !== undefined)
    return `c:${doc.senderId.toHexString()}:${doc.clientMessageId}`;
  return `i:${doc._id.toHexString()}`;
}

function refusal(reason: RefusedDocument): Error {
  return Object.assign(new Error(reason.message), { code: reason.code });
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

import { ObjectId, type Collection, type Db } from 'mongodb';
import { parseObjectId } from '../../infra/ids.js';
import { searchTextOf, toMessage, type Message, type MessageDoc } from './messages.repository.js';
import { domainEvent, noWake, outboxPush, type OutboxWritten } from '../events/outbox.js';

/** At most this many distinct emoji on one message (SPEC §9). */
export const MAX_DISTINCT_REACTIONS = 20;

export type ReactionAdded = 'added' | 'unchanged' | 'too_many' | 'deleted' | 'missing';

const notDeleted = { deletedAt: { $exists: false } } as const;

/**
 * Changes to stored messages: edits, tombstones and reactions. Each is one conditional
 * single-document update, so concurrent callers never lose or double an effect, and the result
 * says whether anything changed (only a change is announced).
 */
export class MessageChangesRepository {
  private readonly messages: Collection<MessageDoc>;

  constructor(
    db: Db,
    private readonly written: OutboxWritten = noWake,
  ) {
    this.messages = db.collection<MessageDoc>('messages');
  }

  /** The edited message (only its sender edits), or null when it was deleted first. */
  async edit(
    conversationId: string,
    messageId: string,
    senderId: string,
    content: string,
  ): Promise<Message | null> {
    const now = new Date();
    // Only the sender's own text and auto messages are edited (system notices are refused).
    const folded = searchTextOf('text', content);
    const edited = domainEvent('message.edited', messageId, senderId, {
      messageId,
      conversationId,
      senderId,
      content,
      editedAt: now.toISOString(),
    });
    const doc = await this.messages.findOneAndUpdate(
      {
        ...this.target(conversationId, messageId),
        senderId: new ObjectId(senderId),
        ...notDeleted,
      },
      {
        $set: { content, editedAt: now, updatedAt: now, ...(folded ? { searchText: folded } : {}) },
        ...(folded ? {} : { $unset: { searchText: '' } }),
        ...outboxPush([edited], now),
      },
      { returnDocument: 'after' },
    );
    if (!doc) return null;
    this.written();
    return toMessage(doc);
  }

  /**
   * Leaves a tombstone: content emptied, reactions dropped, the slot kept so history pages and
   * read pointers stay valid. Null when it was already deleted.
   */
  async tombstone(
    conversationId: string,
    messageId: string,
    who: { actorId: string; senderId: string },
  ): Promise<Message | null> {
    const now = new Date();
    const deleted = domainEvent('message.deleted', messageId, who.actorId, {
      messageId,
      conversationId,
      senderId: who.senderId,
      deletedAt: now.toISOString(),
    });
    const doc = await this.messages.findOneAndUpdate(
      { ...this.target(conversationId, messageId), ...notDeleted },
      {
        $set: { content: '', deletedAt: now, updatedAt: now },
        $unset: { reactions: '', reactionEmojis: '', system: '', searchText: '' },
        ...outboxPush([deleted], now),
      },
      { returnDocument: 'after' },
    );
    if (!doc) return null;
    this.written();
    return toMessage(doc);
  }

  async addReaction(
    conversationId: string,
    messageId: string,
    emoji: string,
    userId: string,
  ): Promise<ReactionAdded> {
    const target = this.target(conversationId, messageId);
    const result = await this.messages.updateOne(
      {
        ...target,
        ...notDeleted,
        // Only a real change writes (and announces) anything.
        reactions: { $not: { $elemMatch: { emoji, userId: new ObjectId(userId) } } },
        // A known emoji, or room for one more: checked and added in one atomic update.
        $or: [
          { reactionEmojis: emoji },
          { [`reactionEmojis.${MAX_DISTINCT_REACTIONS - 1}`]: { $exists: false } },
        ],
      },
      {
        $addToSet: { reactions: { emoji, userId: new ObjectId(userId) }, reactionEmojis: emoji },
        ...outboxPush([
          domainEvent('reaction.added', messageId, userId, {
            conversationId,
            messageId,
            emoji,
            userId,
          }),
        ]),
      },
    );
    if (result.modifiedCount === 1) {
      this.written();
      return 'added';
    }
    if (result.matchedCount === 1) return 'unchanged';
    const doc = await this.messages.findOne(target, {
      projection: { deletedAt: 1, reactionEmojis: 1 },
    });
    if (!doc) return 'missing';
    if (doc.deletedAt) return 'deleted';
    return doc.reactionEmojis?.includes(emoji) ? 'unchanged' : 'too_many';
  }

  /** True when the user's reaction was there and is now gone. */
  async removeReaction(
    conversationId: string,
    messageId: string,
    emoji: string,
    userId: string,
  ): Promise<boolean> {
    const target = this.target(conversationId, messageId);
    const removed = domainEvent('reaction.removed', messageId, userId, {
      conversationId,
      messageId,
      emoji,
      userId,
    });
    const result = await this.messages.updateOne(
      { ...target, reactions: { $elemMatch: { emoji, userId: new ObjectId(userId) } } },
      { $pull: { reactions: { emoji, userId: new ObjectId(userId) } }, ...outboxPush([removed]) },
    );
    if (result.modifiedCount !== 1) return false;
    this.written();
    // The emoji leaves the distinct list only if nobody re-added it meanwhile (atomic filter).
    await this.messages.updateOne(
      { ...target, reactionEmojis: emoji, 'reactions.emoji': { $ne: emoji } },
      { $pull: { reactionEmojis: emoji } },
    );
    return true;
  }

  private target(conversationId: string, messageId: string) {
    return {
      _id: parseObjectId(messageId) ?? new ObjectId(0),
      conversationId: new ObjectId(conversationId),
    };
  }
}

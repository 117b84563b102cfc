import { ObjectId, type Collection, type Db } from 'mongodb';
import type { ConversationDoc } from './conversations.repository.js';
import type { Member } from './group-members.js';
import type { DomainEvent } from '../../contracts/events.js';
import { noWake, outboxPush, type OutboxWritten } from '../events/outbox.js';

/**
 * Membership writes for groups. Each is a compare-and-set on the conversation's `version`, so two
 * concurrent changes (an add and a leave) never overwrite each other: the loser re-reads and
 * retries. `participants` (indexed) and `members` (roles) are written in the same update.
 */
export class GroupMembersRepository {
  private readonly conversations: Collection<ConversationDoc>;

  constructor(
    db: Db,
    private readonly written: OutboxWritten = noWake,
  ) {
    this.conversations = db.collection<ConversationDoc>('conversations');
  }

  /**
   * Stores the new member list if the conversation is still at `version`. Users who joined get a
   * read pointer at this moment (earlier history is not unread for them); users who left lose
   * theirs. False when someone else changed the membership first.
   */
  async replaceMembers(
    conversationId: string,
    version: number,
    members: readonly Member[],
    change: { joined: readonly string[]; left: readonly string[] },
    events: readonly DomainEvent[],
  ): Promise<boolean> {
    const now = new Date();
    const readNow = { messageId: new ObjectId(), readAt: now };
    const result = await this.conversations.updateOne(
      {
        _id: new ObjectId(conversationId),
        type: 'group',
        // Groups made before roles have no version yet: they are at 0.
        ...(version === 0
          ? { $or: [{ version: 0 }, { version: { $exists: false } }] }
          : { version }),
      },
      {
        $set: {
          participants: members.map((m) => new ObjectId(m.userId)),
          members: members.map((m) => ({
            userId: new ObjectId(m.userId),
            role: m.role,
            joinedAt: m.joinedAt,
          })),
          version: version + 1,
          updatedAt: now,
          ...Object.fromEntries(change.joined.map((id) => [`reads.${id}`, readNow])),
        },
        ...(change.left.length > 0
          ? { $unset: Object.fromEntries(change.left.map((id) => [`reads.${id}`, ''])) }
          : {}),
        ...outboxPush(events, now),
      },
    );
    if (result.modifiedCount !== 1) return false;
    this.written();
    return true;
  }

  /** False when the group already had that name. */
  async rename(conversationId: string, name: string, event: DomainEvent): Promise<boolean> {
    const now = new Date();
    const result = await this.conversations.updateOne(
      { _id: new ObjectId(conversationId), type: 'group', name: { $ne: name } },
      { $set: { name, updatedAt: now }, ...outboxPush([event], now) },
    );
    if (result.modifiedCount !== 1) return false;
    this.written();
    return true;
  }
}

import {
  domainEvent,
  noWake,
  OUTBOX_INDEX,
  outboxPush,
  withInc,
  type OutboxFields,
  type OutboxWritten,
} from '../events/outbox.js';
import { ObjectId, type Collection, type Db, type IndexDescription } from 'mongodb';
import { parseObjectId } from '../../infra/ids.js';

export interface AutoMessage {
  id: string;
  senderId: string;
  receiverId: string;
  content: string;
  sendDate: Date;
  isQueued: boolean;
  queuedAt: Date | null;
  isSent: boolean;
  sentAt: Date | null;
  messageId: string | null;
  runId: string;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
}

/** What a queue run publishes of a claimed auto message. */
export type ClaimedAutoMessage = Pick<AutoMessage, 'id' | 'senderId' | 'receiverId' | 'content'>;

export interface PlannedAutoMessage {
  senderId: string;
  receiverId: string;
  content: string;
  sendDate: Date;
  runId: string;
}

interface AutoMessageDoc extends OutboxFields {
  _id: ObjectId;
  senderId: ObjectId;
  receiverId: ObjectId;
  content: string;
  sendDate: Date;
  isQueued: boolean;
  queuedAt?: Date;
  /** Set while one queue run publishes it; stale claims are taken over after a timeout. */
  claimToken?: string;
  claimedAt?: Date;
  isSent: boolean;
  sentAt?: Date;
  messageId?: ObjectId;
  runId: string;
  attempts: number;
  lastError?: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The collection's indexes (also used by the engine benchmark, so both measure the same). */
export const AUTO_MESSAGE_INDEXES: IndexDescription[] = [
  { key: { isQueued: 1, sendDate: 1 }, name: 'due' },
  { key: { isQueued: 1, claimedAt: 1 }, name: 'claims' },
  { key: { runId: 1 }, name: 'by_run' },
  { key: { claimToken: 1 }, name: 'by_claim' },
];

/**
 * `automessages` collection. Indexes:
 * - `isQueued, sendDate`: the queue stage's "due and not yet queued" scan.
 * - `isQueued, claimedAt`: claims left behind by a queue run that died mid-publish.
 * - `runId`: what one planning run produced.
 * - `claimToken`: a queue run reading back what it claimed.
 */
export class AutoMessagesRepository {
  private readonly autos: Collection<AutoMessageDoc>;

  constructor(
    db: Db,
    private readonly written: OutboxWritten = noWake,
  ) {
    this.autos = db.collection<AutoMessageDoc>('automessages');
  }

  async ensureIndexes(): Promise<void> {
    await this.autos.createIndexes([...AUTO_MESSAGE_INDEXES, OUTBOX_INDEX]);
  }

  async insertBatch(items: PlannedAutoMessage[]): Promise<void> {
    if (items.length === 0) return;
    const now = new Date();
    await this.autos.insertMany(
      items.map((item) => ({
        _id: new ObjectId(),
        senderId: new ObjectId(item.senderId),
        receiverId: new ObjectId(item.receiverId),
        content: item.content,
        sendDate: item.sendDate,
        isQueued: false,
        isSent: false,
        runId: item.runId,
        attempts: 0,
        createdAt: now,
        updatedAt: now,
      })),
      { ordered: false },
    );
  }

  /**
   * Claims up to `limit` due messages for one queue run: candidates are read (only the fields a
   * job needs), then claimed with a conditional update. When the update claimed every
   * candidate they are all ours; otherwise another run took some in between, and ours are
   * re-read by token. Claims older than `staleBefore` (a run that died) are taken over.
   */
  async claimDue(
    now: Date,
    staleBefore: Date,
    token: string,
    limit: number,
  ): Promise<ClaimedAutoMessage[]> {
    const due = {
      isQueued: false,
      sendDate: { $lte: now },
      $or: [{ claimedAt: { $exists: false } }, { claimedAt: { $lt: staleBefore } }],
    };
    const candidates = await this.autos
      .find(due, { projection: CLAIMED_FIELDS })
      .limit(limit)
      .toArray();
    if (candidates.length === 0) return [];
    const claim = await this.autos.updateMany(
      { ...due, _id: { $in: candidates.map((c) => c._id) } },
      { $set: { claimToken: token, claimedAt: now } },
    );
    const mine =
      claim.modifiedCount === candidates.length
        ? candidates
        : await this.autos
            .find({ claimToken: token, isQueued: false }, { projection: CLAIMED_FIELDS })
            .toArray();
    return mine.map(toClaimed);
  }

  async markQueued(ids: string[], token: string, at: Date): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.autos.updateMany(
      { _id: { $in: ids.map((id) => new ObjectId(id)) }, claimToken: token },
      {
        $set: { isQueued: true, queuedAt: at, updatedAt: at },
        $unset: { claimToken: '', claimedAt: '' },
      },
    );
    return result.modifiedCount;
  }

  /** Gives up a claim at once (publish refused), so the next run retries without waiting. */
  async releaseClaims(ids: string[], token: string): Promise<void> {
    if (ids.length === 0) return;
    await this.autos.updateMany(
      { _id: { $in: ids.map((id) => new ObjectId(id)) }, claimToken: token },
      { $unset: { claimToken: '', claimedAt: '' } },
    );
  }

  async findById(id: string): Promise<AutoMessage | null> {
    const _id = parseObjectId(id);
    if (!_id) return null;
    const doc = await this.autos.findOne({ _id });
    return doc ? toAutoMessage(doc) : null;
  }

  async recordFailure(id: string, error: string): Promise<void> {
    await this.autos.updateOne(
      { _id: new ObjectId(id) },
      { $inc: { attempts: 1 }, $set: { lastError: error, updatedAt: new Date() } },
    );
  }

  async markSent(sent: SentAutoMessage, at: Date): Promise<void> {
    await this.markSentMany([sent], at);
  }

  /**
   * `markSent` for a batch, in one round trip. Only the first delivery marks it (and records
   * `automessage.sent`); a redelivered job finds it sent and changes nothing.
   */
  async markSentMany(sent: readonly SentAutoMessage[], at: Date): Promise<void> {
    if (sent.length === 0) return;
    await this.autos.bulkWrite(
      sent.map((item) => ({
        updateOne: {
          filter: { _id: new ObjectId(item.id), isSent: { $ne: true } },
          update: {
            $set: {
              isSent: true,
              sentAt: at,
              messageId: new ObjectId(item.messageId),
              updatedAt: at,
            },
            $unset: { lastError: '' },
            ...withInc({ attempts: 1 }, outboxPush([sentEvent(item, at)], at)),
          },
        },
      })),
      { ordered: false },
    );
    this.written();
  }

  /** Everyone a planning run already paired (served by `by_run`): a resumed run skips them. */
  async usersPlannedIn(runId: string): Promise<{ users: Set<string>; pairs: number }> {
    const docs = await this.autos
      .find({ runId }, { projection: { senderId: 1, receiverId: 1 } })
      .toArray();
    const users = new Set(
      docs.flatMap((d) => [d.senderId.toHexString(), d.receiverId.toHexString()]),
    );
    return { users, pairs: docs.length };
  }

  async countByRun(runId: string): Promise<number> {
    return this.autos.countDocuments({ runId });
  }
}

const CLAIMED_FIELDS = { _id: 1, senderId: 1, receiverId: 1, content: 1 } as const;

function toClaimed(
  doc: Pick<AutoMessageDoc, '_id' | 'senderId' | 'receiverId' | 'content'>,
): ClaimedAutoMessage {
  return {
    id: doc._id.toHexString(),
    senderId: doc.senderId.toHexString(),
    receiverId: doc.receiverId.toHexString(),
    content: doc.content,
  };
}

function toAutoMessage(doc: AutoMessageDoc): AutoMessage {
  return {
    id: doc._id.toHexString(),
    senderId: doc.senderId.toHexString(),
    receiverId: doc.receiverId.toHexString(),
    content: doc.content,
    sendDate: doc.sendDate,
    isQueued: doc.isQueued,
    queuedAt: doc.queuedAt ?? null,
    isSent: doc.isSent,
    sentAt: doc.sentAt ?? null,
    messageId: doc.messageId?.toHexString() ?? null,
    runId: doc.runId,
    attempts: doc.attempts,
    lastError: doc.lastError ?? null,
    createdAt: doc.createdAt,
  };
}

export interface SentAutoMessage {
  id: string;
  messageId: string;
  senderId: string;
  receiverId: string;
}

function sentEvent(item: SentAutoMessage, at: Date) {
  return domainEvent(
    'automessage.sent',
    item.id,
    null,
    {
      autoMessageId: item.id,
      messageId: item.messageId,
      senderId: item.senderId,
      receiverId: item.receiverId,
    },
    at,
  );
}

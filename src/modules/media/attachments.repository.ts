import { ObjectId, type Collection, type Db } from 'mongodb';
import type { Variant } from '../../contracts/media.js';
import { parseObjectId } from '../../infra/ids.js';
import type { DomainEvent } from '../../contracts/events.js';
import {
  domainEvent,
  noWake,
  OUTBOX_INDEX,
  outboxPush,
  type OutboxFields,
  type OutboxWritten,
} from '../events/outbox.js';

export interface StoredVariant {
  size: number;
  mime: string;
  etag: string;
}

export interface Attachment {
  id: string;
  ownerId: string;
  kind: 'image' | 'file';
  mime: string;
  size: number;
  name: string;
  width?: number;
  height?: number;
  status: 'processing' | 'ready' | 'failed';
  error?: string;
  /** Generated prefix in storage; every variant is `<storageKey>/<variant>`. */
  storageKey: string;
  variants: Partial<Record<Variant, StoredVariant>>;
  taskId: string;
  /** The messages it was sent with, and their conversations (whose members may read it). */
  sentIn: { messageId: string; conversationId: string }[];
  attachedAt?: Date;
  createdAt: Date;
}

interface AttachmentDoc extends Omit<Attachment, 'id'>, OutboxFields {
  _id: ObjectId;
  updatedAt: Date;
}

export type NewAttachment = Omit<Attachment, 'id' | 'sentIn' | 'createdAt' | 'status'>;

/**
 * `attachments` collection. Indexes:
 * - `ownerId, _id desc`: a user's uploads (quota sums them).
 * - `storageKey` (unique): the orphan sweep asks whether a stored prefix has a document.
 * - `attachedAt, createdAt`: uploads never sent with a message, oldest first (orphan sweep).
 * - `status, kind, size`: ready images over a size (media-optimize).
 * - `createdAt`: attachments per hour (stats).
 */
export class AttachmentsRepository {
  private readonly attachments: Collection<AttachmentDoc>;

  constructor(
    db: Db,
    private readonly written: OutboxWritten = noWake,
  ) {
    this.attachments = db.collection<AttachmentDoc>('attachments');
  }

  async ensureIndexes(): Promise<void> {
    await this.attachments.createIndexes([
      { key: { ownerId: 1, _id: -1 }, name: 'owner' },
      { key: { storageKey: 1 }, name: 'storage_key', unique: true },
      { key: { attachedAt: 1, createdAt: 1 }, name: 'unattached' },
      { key: { status: 1, kind: 1, size: 1 }, name: 'optimize' },
      { key: { createdAt: 1 }, name: 'created' },
      OUTBOX_INDEX,
    ]);
  }

  newId(): string {
    return new ObjectId().toHexString();
  }

  /** Each upload with a preassigned id (its task was made for it). */
  async insertMany(items: (NewAttachment & { id: string })[]): Promise<Attachment[]> {
    const now = new Date();
    const docs: AttachmentDoc[] = items.map(({ id, ...item }) => ({
      ...item,
      _id: new ObjectId(id),
      status: 'processing',
      sentIn: [],
      createdAt: now,
      updatedAt: now,
    }));
    if (docs.length) await this.attachments.insertMany(docs);
    return docs.map(toAttachment);
  }

  async findById(id: string): Promise<Attachment | null> {
    const _id = parseObjectId(id);
    if (!_id) return null;
    const doc = await this.attachments.findOne({ _id });
    return doc ? toAttachment(doc) : null;
  }

  async findByIds(ids: readonly string[]): Promise<Attachment[]> {
    const docs = await this.attachments
      .find({ _id: { $in: ids.map((id) => new ObjectId(id)) } })
      .toArray();
    const byId = new Map(docs.map((d) => [d._id.toHexString(), toAttachment(d)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** Bytes this user stores (originals and every variant). */
  async usageOf(ownerId: string): Promise<number> {
    const docs = await this.attachments
      .find({ ownerId }, { projection: { size: 1, variants: 1 } })
      .toArray();
    return docs.reduce(
      (sum, d) =>
        sum +
        Math.max(
          d.size,
          Object.values(d.variants).reduce((s, v) => s + (v?.size ?? 0), 0),
        ),
      0,
    );
  }

  async markReady(
    id: string,
    update: { width?: number; height?: number; size: number; variants: Attachment['variants'] },
  ): Promise<Attachment | null> {
    return this.settle(id, 'ready', { ...update }, (a) =>
      domainEvent('attachment.ready', a.id, a.ownerId, {
        attachmentId: a.id,
        ownerId: a.ownerId,
        kind: a.kind,
        mime: a.mime,
        size: update.size,
        ...(update.width !== undefined ? { width: update.width } : {}),
        ...(update.height !== undefined ? { height: update.height } : {}),
      }),
    );
  }

  async markFailed(id: string, error: string): Promise<Attachment | null> {
    return this.settle(id, 'failed', { error }, (a) =>
      domainEvent('attachment.failed', a.id, a.ownerId, {
        attachmentId: a.id,
        ownerId: a.ownerId,
        error,
      }),
    );
  }

  /**
   * The final status, with its event only when the status changes (a retried job writes the
   * same state again without a second event). Owner, kind and mime never change, so the event
   * is made from a read before the conditional update.
   */
  private async settle(
    id: string,
    status: 'ready' | 'failed',
    fields: Record<string, unknown>,
    eventOf: (before: Attachment) => DomainEvent,
  ): Promise<Attachment | null> {
    const _id = new ObjectId(id);
    const before = await this.attachments.findOne({ _id });
    if (!before) return null;
    const now = new Date();
    const set = { $set: { ...fields, status, updatedAt: now } };
    const unset = status === 'ready' ? { $unset: { error: '' as const } } : {};
    if (before.status !== status) {
      const doc = await this.attachments.findOneAndUpdate(
        { _id, status: before.status },
        { ...set, ...unset, ...outboxPush([eventOf(toAttachment(before))], now) },
        { returnDocument: 'after' },
      );
      if (doc) {
        this.written();
        return toAttachment(doc);
      }
    }
    const doc = await this.attachments.findOneAndUpdate(
      { _id },
      { ...set, ...unset },
      {
        returnDocument: 'after',
      },
    );
    return doc ? toAttachment(doc) : null;
  }

  async addVariant(id: string, variant: Variant, stored: StoredVariant): Promise<void> {
    await this.attachments.updateOne(
      { _id: new ObjectId(id) },
      { $set: { [`variants.${variant}`]: stored, updatedAt: new Date() } },
    );
  }

  /** Records that a message carries these attachments (its conversation's members may read them). */
  async attach(ids: readonly string[], messageId: string, conversationId: string): Promise<void> {
    const now = new Date();
    await this.attachments.updateMany(
      { _id: { $in: ids.map((id) => new ObjectId(id)) } },
      { $addToSet: { sentIn: { messageId, conversationId } }, $min: { attachedAt: now } },
    );
  }

  /** A deleted message no longer grants access to its attachments. */
  async detachMessage(ids: readonly string[], messageId: string): Promise<void> {
    if (ids.length === 0) return;
    await this.attachments.updateMany(
      { _id: { $in: ids.map((id) => new ObjectId(id)) } },
      { $pull: { sentIn: { messageId } } },
    );
  }

  /** Uploads never sent with a message, created before `cutoff`. */
  async unattachedBefore(cutoff: Date, limit: number): Promise<Attachment[]> {
    const docs = await this.attachments
      .find({ attachedAt: { $exists: false }, createdAt: { $lt: cutoff } })
      .limit(limit)
      .toArray();
    return docs.map(toAttachment);
  }

  /** Of these storage prefixes, the ones that belong to an attachment. */
  async knownStorageKeys(keys: readonly string[]): Promise<Set<string>> {
    const docs = await this.attachments
      .find({ storageKey: { $in: [...keys] } }, { projection: { storageKey: 1 } })
      .toArray();
    return new Set(docs.map((d) => d.storageKey));
  }

  async removeMany(ids: readonly string[]): Promise<void> {
    await this.attachments.deleteMany({ _id: { $in: ids.map((id) => new ObjectId(id)) } });
  }

  async remove(id: string): Promise<boolean> {
    const result = await this.attachments.deleteOne({ _id: new ObjectId(id) });
    return result.deletedCount === 1;
  }

  /** Ready images larger than `minBytes` without a display variant. */
  async needingDisplay(minBytes: number, limit: number): Promise<Attachment[]> {
    const docs = await this.attachments
      .find({
        status: 'ready',
        kind: 'image',
        size: { $gt: minBytes },
        'variants.display': { $exists: false },
      })
      .limit(limit)
      .toArray();
    return docs.map(toAttachment);
  }

  async countCreatedBetween(from: Date, to: Date): Promise<number> {
    return this.attachments.countDocuments({ createdAt: { $gte: from, $lt: to } });
  }
}

function toAttachment(doc: AttachmentDoc): Attachment {
  const { _id, updatedAt: _updated, outbox: _o, outboxAt: _a, outboxSeq: _s, ...rest } = doc;
  return { id: _id.toHexString(), ...rest };
}

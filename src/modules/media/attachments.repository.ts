import { ObjectId, type Collection, type Db } from 'mongodb';
import type { Variant } from '../../contracts/media.js';
import { parseObjectId } from '../../infra/ids.js';

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

interface AttachmentDoc extends Omit<Attachment, 'id'> {
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

  constructor(db: Db) {
    this.attachments = db.collection<AttachmentDoc>('attachments');
  }

  async ensureIndexes(): Promise<void> {
    await this.attachments.createIndexes([
      { key: { ownerId: 1, _id: -1 }, name: 'owner' },
      { key: { storageKey: 1 }, name: 'storage_key', unique: true },
      { key: { attachedAt: 1, createdAt: 1 }, name: 'unattached' },
      { key: { status: 1, kind: 1, size: 1 }, name: 'optimize' },
      { key: { createdAt: 1 }, name: 'created' },
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
    const doc = await this.attachments.findOneAndUpdate(
      { _id: new ObjectId(id) },
      { $set: { ...update, status: 'ready', updatedAt: new Date() }, $unset: { error: '' } },
      { returnDocument: 'after' },
    );
    return doc ? toAttachment(doc) : null;
  }

  async markFailed(id: string, error: string): Promise<Attachment | null> {
    const doc = await this.attachments.findOneAndUpdate(
      { _id: new ObjectId(id) },
      { $set: { status: 'failed', error, updatedAt: new Date() } },
      { returnDocument: 'after' },
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
  const { _id, updatedAt: _updated, ...rest } = doc;
  return { id: _id.toHexString(), ...rest };
}

import { ObjectId, type Collection, type Db } from 'mongodb';
import { parseObjectId } from '../../infra/ids.js';

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  secret: string;
  createdBy: string;
  createdAt: Date;
}

interface WebhookDoc extends Omit<Webhook, 'id'> {
  _id: ObjectId;
}

export type DeliveryStatus = 'delivered' | 'failing' | 'parked' | 'refused';

/** A delivery as the routes show it: the stored document with its webhook id as a string. */
export type Delivery = Omit<DeliveryDoc, '_id' | 'webhookId'> & { webhookId: string };

interface DeliveryDoc {
  _id: ObjectId;
  webhookId: ObjectId;
  eventId: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  deliveredAt: Date | null;
  updatedAt: Date;
}

/**
 * `webhooks` (few documents, read whole by the consumer) and `webhook_deliveries`, one per
 * (webhook, event): `webhookId, eventId` unique (the consumer's dedup: a delivered event is not
 * sent again), `webhookId, updatedAt desc` for the recent-deliveries page.
 */
export class WebhooksRepository {
  private readonly hooks: Collection<WebhookDoc>;
  private readonly deliveries: Collection<DeliveryDoc>;

  constructor(db: Db) {
    this.hooks = db.collection<WebhookDoc>('webhooks');
    this.deliveries = db.collection<DeliveryDoc>('webhook_deliveries');
  }

  async ensureIndexes(): Promise<void> {
    await this.deliveries.createIndexes([
      { key: { webhookId: 1, eventId: 1 }, name: 'delivery_unique', unique: true },
      { key: { webhookId: 1, updatedAt: -1 }, name: 'recent' },
    ]);
  }

  async create(data: Omit<Webhook, 'id' | 'createdAt'>): Promise<Webhook> {
    const doc: WebhookDoc = { _id: new ObjectId(), ...data, createdAt: new Date() };
    await this.hooks.insertOne(doc);
    return toWebhook(doc);
  }

  async list(): Promise<Webhook[]> {
    return (await this.hooks.find({}).sort({ _id: 1 }).limit(1000).toArray()).map(toWebhook);
  }

  async findById(id: string): Promise<Webhook | null> {
    const _id = parseObjectId(id);
    const doc = _id ? await this.hooks.findOne({ _id }) : null;
    return doc ? toWebhook(doc) : null;
  }

  async remove(id: string): Promise<boolean> {
    const _id = parseObjectId(id);
    if (!_id) return false;
    const { deletedCount } = await this.hooks.deleteOne({ _id });
    if (deletedCount === 1) await this.deliveries.deleteMany({ webhookId: _id });
    return deletedCount === 1;
  }

  /** Event ids of `ids` already delivered to the webhook. */
  async delivered(webhookId: string, eventId: string): Promise<boolean> {
    const doc = await this.deliveries.findOne(
      { webhookId: new ObjectId(webhookId), eventId },
      { projection: { status: 1 } },
    );
    return doc?.status === 'delivered';
  }

  /** One attempt's outcome: counts the attempt and keeps the latest state. */
  async record(
    webhookId: string,
    event: { id: string; type: string },
    outcome: { status: DeliveryStatus; error: string | null },
  ): Promise<void> {
    const now = new Date();
    await this.deliveries.updateOne(
      { webhookId: new ObjectId(webhookId), eventId: event.id },
      {
        $set: {
          type: event.type,
          status: outcome.status,
          lastError: outcome.error,
          updatedAt: now,
          ...(outcome.status === 'delivered' ? { deliveredAt: now } : {}),
        },
        $setOnInsert: { ...(outcome.status === 'delivered' ? {} : { deliveredAt: null }) },
        $inc: { attempts: 1 },
      },
      { upsert: true },
    );
  }

  async recent(webhookId: string, limit: number): Promise<Delivery[]> {
    const docs = await this.deliveries
      .find({ webhookId: new ObjectId(webhookId) })
      .sort({ updatedAt: -1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => ({
      webhookId: d.webhookId.toHexString(),
      eventId: d.eventId,
      type: d.type,
      status: d.status,
      attempts: d.attempts,
      lastError: d.lastError,
      deliveredAt: d.deliveredAt ?? null,
      updatedAt: d.updatedAt,
    }));
  }
}

function toWebhook(doc: WebhookDoc): Webhook {
  return {
    id: doc._id.toHexString(),
    url: doc.url,
    events: doc.events,
    secret: doc.secret,
    createdBy: doc.createdBy,
    createdAt: doc.createdAt,
  };
}

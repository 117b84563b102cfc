import { ObjectId, type Collection, type Db } from 'mongodb';

export interface HourCounts {
  messages: number;
  activeSenders: number;
  newUsers: number;
  attachments: number;
  autoMessages: number;
}

/** Where an hour's counts came from: the stats consumer's counters or a MongoDB aggregation. */
export type StatsSource = 'counters' | 'mongodb';

export interface StatsHourDoc extends HourCounts {
  _id: Date;
  /** Absent on hours stored before the counters existed (they came from MongoDB). */
  source?: StatsSource;
  computedAt: Date;
}

/**
 * Reads the hour's activity from MongoDB (the fallback when the stats consumer is not running)
 * and keeps the results in `stats_hourly` (one document
 * per hour, `_id` = the hour's start, so a recomputed hour replaces itself).
 * Every read is an index range: messages and users by `_id` (ObjectIds begin with their
 * creation second), attachments by `createdAt`.
 */
export class StatsRepository {
  private readonly hours: Collection<StatsHourDoc>;

  constructor(private readonly db: Db) {
    this.hours = db.collection<StatsHourDoc>('stats_hourly');
  }

  async count(from: Date, to: Date): Promise<HourCounts> {
    const ids = { $gte: idAt(from), $lt: idAt(to) };
    const senders = new Set<string>();
    let messages = 0;
    let autoMessages = 0;
    const cursor = this.db
      .collection<{ _id: ObjectId; senderId: ObjectId; type: string }>('messages')
      .find({ _id: ids }, { projection: { senderId: 1, type: 1 } });
    for await (const m of cursor) {
      messages += 1;
      if (m.type === 'auto') autoMessages += 1;
      else if (m.type === 'text') senders.add(m.senderId.toHexString());
    }
    const [newUsers, attachments] = await Promise.all([
      this.db.collection('users').countDocuments({ _id: ids }),
      this.db.collection('attachments').countDocuments({ createdAt: { $gte: from, $lt: to } }),
    ]);
    return { messages, activeSenders: senders.size, newUsers, attachments, autoMessages };
  }

  async save(hour: Date, counts: HourCounts, source: StatsSource): Promise<void> {
    await this.hours.replaceOne(
      { _id: hour },
      { ...counts, source, computedAt: new Date() },
      { upsert: true },
    );
  }

  async range(from: Date, to: Date): Promise<StatsHourDoc[]> {
    return this.hours
      .find({ _id: { $gte: from, $lt: to } })
      .sort({ _id: 1 })
      .limit(24 * 93)
      .toArray();
  }
}

function idAt(time: Date): ObjectId {
  return ObjectId.createFromTime(Math.floor(time.getTime() / 1000));
}

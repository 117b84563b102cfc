import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '../../infra/duplicate-key.js';

interface SettingDoc {
  _id: string;
  value: unknown;
  createdAt: Date;
}

/**
 * `settings` collection: deployment-wide values that every instance must agree on and that are
 * made once (generated development secrets, when each ADMIN_EMAILS address was first listed).
 * Keyed by `_id` only, so every read is served by the primary key.
 */
export class SettingsRepository {
  private readonly settings: Collection<SettingDoc>;

  constructor(db: Db) {
    this.settings = db.collection<SettingDoc>('settings');
  }

  /**
   * The value stored under `name`, or `make()` stored now if there is none. When several
   * instances start at once, exactly one insert wins and all of them return its value.
   */
  async getOrCreate<T>(name: string, make: () => T): Promise<T> {
    const existing = await this.settings.findOne({ _id: name });
    if (existing) return existing.value as T;
    const value = make();
    try {
      await this.settings.insertOne({ _id: name, value, createdAt: new Date() });
      return value;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const winner = await this.settings.findOne({ _id: name });
      if (!winner) throw error;
      return winner.value as T;
    }
  }

  /** Names under `prefix` (served by the `_id` index: a prefix range, no regex scan). */
  async namesWithPrefix(prefix: string): Promise<string[]> {
    const docs = await this.settings
      .find({ _id: { $gte: prefix, $lt: `${prefix}\uffff` } }, { projection: { _id: 1 } })
      .toArray();
    return docs.map((d) => d._id);
  }

  async remove(names: readonly string[]): Promise<void> {
    if (names.length > 0) await this.settings.deleteMany({ _id: { $in: [...names] } });
  }
}

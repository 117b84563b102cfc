import type { StatsHour } from '../../contracts/stats.js';
import { errors } from '../../errors.js';
import type { StatsRepository } from './stats.repository.js';

export const STATS_JOB = 'stats-hourly';

const HOUR_MS = 3600_000;
/**
 * Full hours recomputed per run (the last and the ones before it, should a run be missed); the
 * current hour is counted too, so far.
 */
const CATCH_UP_HOURS = 3;

/**
 * `stats-hourly`: aggregates the last full hours from MongoDB. The `stats` event consumer
 * (issue 14) was not on main when this was written; when it lands, `count` is the one call to
 * switch to its counters.
 */
export class StatsService {
  constructor(private readonly stats: StatsRepository) {}

  async computeRecent(now = new Date()) {
    const current = startOfHour(now);
    let hours = 0;
    for (let i = CATCH_UP_HOURS; i >= 0; i -= 1) {
      const hour = new Date(current.getTime() - i * HOUR_MS);
      await this.stats.save(hour, await this.stats.count(hour, new Date(hour.getTime() + HOUR_MS)));
      hours += 1;
    }
    return { hours, lastFullHour: new Date(current.getTime() - HOUR_MS).toISOString() };
  }

  async list(query: { from?: string | undefined; to?: string | undefined }): Promise<StatsHour[]> {
    const to = query.to ? new Date(query.to) : new Date();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - 24 * HOUR_MS);
    if (to.getTime() - from.getTime() > 93 * 24 * HOUR_MS)
      throw errors.validation([{ in: 'query', path: 'from', message: 'at most 93 days at once' }]);
    const docs = await this.stats.range(from, to);
    return docs.map(({ _id, computedAt, ...counts }) => ({
      hour: _id.toISOString(),
      ...counts,
      computedAt: computedAt.toISOString(),
    }));
  }
}

export function startOfHour(time: Date): Date {
  return new Date(Math.floor(time.getTime() / HOUR_MS) * HOUR_MS);
}

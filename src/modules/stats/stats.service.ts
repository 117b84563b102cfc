import type { StatsHour } from '../../contracts/stats.js';
import { errors } from '../../errors.js';
import { hourOf } from './stats.consumer.js';
import type { HourCounts, StatsHourDoc, StatsRepository, StatsSource } from './stats.repository.js';

export const STATS_JOB = 'stats-hourly';

const HOUR_MS = 3600_000;
/**
 * Full hours recomputed per run (the last and the ones before it, should a run be missed or the
 * stats consumer have had a backlog); the current hour is counted too, so far.
 */
const CATCH_UP_HOURS = 3;

/** The `stats` event consumer's side (modules/stats/live-stats.repository.ts and its queue). */
export interface LiveCounters {
  /** The hour's counts as the consumer kept them (`2026-12-01T09`). */
  hour(hour: string): Promise<HourCounts>;
  /** True while at least one worker consumes the stats consumer's queue. */
  running(): Promise<boolean>;
}

/**
 * `stats-hourly` and the dashboard's hourly stats. While the `stats` consumer runs, an hour's
 * counts are its live counters (Redis); when no worker runs it (EVENTS_CONSUMERS without
 * `stats`), they are aggregated from MongoDB instead (docs/EVENTS.md, "Statistics").
 */
export class StatsService {
  constructor(
    private readonly stats: StatsRepository,
    private readonly live: LiveCounters,
  ) {}

  async computeRecent(now = new Date()) {
    const current = startOfHour(now);
    const source = await this.source();
    for (let i = CATCH_UP_HOURS; i >= 0; i -= 1) {
      const hour = new Date(current.getTime() - i * HOUR_MS);
      await this.stats.save(hour, await this.count(hour, source), source);
    }
    return {
      hours: CATCH_UP_HOURS + 1,
      source,
      lastFullHour: new Date(current.getTime() - HOUR_MS).toISOString(),
    };
  }

  /**
   * Stored hours between `from` and `to`; while the stats consumer runs, the current and the
   * previous hour (which the hourly job may not have stored yet) are read from its counters.
   */
  async list(query: { from?: string | undefined; to?: string | undefined }): Promise<StatsHour[]> {
    const to = query.to ? new Date(query.to) : new Date();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - 24 * HOUR_MS);
    if (to.getTime() - from.getTime() > 93 * 24 * HOUR_MS)
      throw errors.validation([{ in: 'query', path: 'from', message: 'at most 93 days at once' }]);
    const byHour = new Map((await this.stats.range(from, to)).map((d) => [d._id.getTime(), d]));
    if (await this.live.running()) {
      const current = startOfHour(new Date());
      for (const hour of [new Date(current.getTime() - HOUR_MS), current]) {
        if (hour < from || hour >= to) continue;
        const counts = await this.count(hour, 'counters');
        byHour.set(hour.getTime(), {
          _id: hour,
          ...counts,
          source: 'counters',
          computedAt: new Date(),
        });
      }
    }
    return [...byHour.values()].sort((a, b) => a._id.getTime() - b._id.getTime()).map(present);
  }

  private async source(): Promise<StatsSource> {
    return (await this.live.running()) ? 'counters' : 'mongodb';
  }

  private count(hour: Date, source: StatsSource): Promise<HourCounts> {
    return source === 'counters'
      ? this.live.hour(hourOf(hour.toISOString()))
      : this.stats.count(hour, new Date(hour.getTime() + HOUR_MS));
  }
}

function present({ _id, computedAt, source, ...counts }: StatsHourDoc): StatsHour {
  return {
    hour: _id.toISOString(),
    ...counts,
    source: source ?? 'mongodb',
    computedAt: computedAt.toISOString(),
  };
}

export function startOfHour(time: Date): Date {
  return new Date(Math.floor(time.getTime() / HOUR_MS) * HOUR_MS);
}

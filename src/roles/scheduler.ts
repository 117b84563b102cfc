import type { Config } from '../config.js';
import type { Services } from '../core.js';
import type { Logger } from '../logger.js';
import { startScheduler as startCron } from '../jobs/scheduler.js';
import { PLAN_JOB, QUEUE_JOB } from '../modules/automessages/automessages.service.js';
import type { Shutdown } from '../shutdown.js';
import { OPTIMIZE_JOB, ORPHAN_CLEANUP_JOB } from '../modules/media/media.maintenance.js';
import { STATS_JOB } from '../modules/stats/stats.service.js';

const DAY_MS = 24 * 3600 * 1000;

/** Cron only calls one service per tick; the run record makes each tick fire once overall. */
export function startScheduler(
  config: Readonly<Config>,
  services: Services,
  shutdown: Shutdown,
  logger: Logger,
): void {
  const scheduler = startCron(
    [
      {
        name: PLAN_JOB,
        cron: config.AUTO_MESSAGE_PLAN_CRON,
        run: (runId) => {
          const now = new Date();
          return services.autoMessages.plan(runId, now, new Date(now.getTime() + DAY_MS));
        },
      },
      {
        name: QUEUE_JOB,
        cron: config.AUTO_MESSAGE_QUEUE_CRON,
        run: (runId) => services.autoMessages.queueDue(runId),
      },
      {
        name: ORPHAN_CLEANUP_JOB,
        cron: config.MEDIA_ORPHAN_CLEANUP_CRON,
        run: () => services.maintenance.cleanOrphans(),
      },
      {
        name: STATS_JOB,
        cron: config.STATS_HOURLY_CRON,
        run: () => services.stats.computeRecent(),
      },
      {
        name: OPTIMIZE_JOB,
        cron: config.MEDIA_OPTIMIZE_CRON,
        run: () => services.maintenance.optimize(),
      },
    ],
    config.SCHEDULER_TZ,
    services.runner,
    logger,
  );
  shutdown.add('scheduler', () => scheduler.stop());
}

import { errorResponse, route, type RouteDef } from '../../http/route.js';
import { JobTriggerResult, StatsQuery, StatsResult } from '../../contracts/stats.js';
import type { JobRunner } from '../../jobs/job-runner.js';
import { STATS_JOB, type StatsService } from '../stats/stats.service.js';
import { OPTIMIZE_JOB, ORPHAN_CLEANUP_JOB, type MediaMaintenance } from './media.maintenance.js';

const tag = 'admin';
const guarded = { 401: errorResponse('Not logged in'), 403: errorResponse('Administrators only') };

export interface MaintenanceDeps {
  jobs: JobRunner;
  maintenance: MediaMaintenance;
  stats: StatsService;
}

/**
 * Operators run each maintenance job on demand, as for the auto-message stages: a manual run
 * with its own run record in /api/admin/jobs/runs.
 */
export function maintenanceRoutes(deps: MaintenanceDeps): RouteDef[] {
  const trigger = (path: string, name: string, summary: string, job: () => Promise<JobCounts>) =>
    route({
      method: 'post',
      path,
      summary,
      tag,
      access: 'admin',
      responses: { 200: { description: 'Ran', schema: JobTriggerResult }, ...guarded },
      handler: async () => ({ status: 200, body: await deps.jobs.runManually(name, job) }),
    });
  return [
    trigger(
      '/api/admin/media/orphan-cleanup',
      ORPHAN_CLEANUP_JOB,
      'Remove uploads never attached to a message, and stored files no attachment owns',
      () => deps.maintenance.cleanOrphans(),
    ),
    trigger(
      '/api/admin/media/optimize',
      OPTIMIZE_JOB,
      'Give large originals a ≤ 1600 px display variant',
      () => deps.maintenance.optimize(),
    ),
    trigger('/api/admin/stats/hourly', STATS_JOB, 'Recompute the last full hours of stats', () =>
      deps.stats.computeRecent(),
    ),
    route({
      method: 'get',
      path: '/api/admin/stats',
      summary: 'Hourly stats (stats_hourly) between from and to, oldest first',
      tag,
      access: 'admin',
      query: StatsQuery,
      responses: {
        200: { description: 'Hours', schema: StatsResult },
        400: errorResponse('Bad range'),
        ...guarded,
      },
      handler: async ({ query }) => ({
        status: 200,
        body: { items: await deps.stats.list(query) },
      }),
    }),
  ];
}

type JobCounts = Record<string, number | string | null>;

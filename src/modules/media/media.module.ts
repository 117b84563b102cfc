import type { Config } from '../../config.js';
import type { MediaJob } from '../../contracts/media.js';
import type { Logger } from '../../logger.js';
import type { Rabbit } from '../../infra/rabbit.js';
import type { MembershipCache } from '../conversations/membership.cache.js';
import type { TaskRunner } from '../tasks/task-runner.js';
import type { TasksService } from '../tasks/tasks.service.js';
import type { AttachmentsRepository } from './attachments.repository.js';
import { MediaMaintenance } from './media.maintenance.js';
import { MediaProcessor } from './media.processor.js';
import { MediaService } from './media.service.js';
import { LocalDiskStorage } from './storage.js';

/** Attachments' services, built once per process (every role: api uploads, worker processes). */
export async function buildMedia(
  config: Readonly<Config>,
  infra: { mediaQueue: Rabbit },
  repos: { attachments: AttachmentsRepository },
  deps: { tasks: TasksService; taskRunner: TaskRunner; membership: MembershipCache },
  logger: Logger,
) {
  const storage = new LocalDiskStorage(config.UPLOAD_DIR);
  await storage.init();
  const log = logger.child({ component: 'media' });
  const media = new MediaService(
    repos.attachments,
    storage,
    deps.tasks,
    deps.membership,
    {
      publish: async (jobs: MediaJob[]) => {
        const { failed } = await infra.mediaQueue.publishMany(jobs, {
          messageIdOf: (job) => job.taskId,
        });
        return failed.map((f) => f.payload);
      },
    },
    log,
    { maxBytes: config.UPLOAD_MAX_BYTES, quotaBytes: config.UPLOAD_QUOTA_BYTES },
  );
  const mediaProcessor = new MediaProcessor(repos.attachments, storage, deps.taskRunner, log, {
    maxPixels: config.MEDIA_MAX_INPUT_PIXELS,
  });
  const maintenance = new MediaMaintenance(repos.attachments, storage, log, {
    orphanHours: config.UPLOAD_ORPHAN_HOURS,
    optimizeBytes: config.UPLOAD_OPTIMIZE_BYTES,
    maxPixels: config.MEDIA_MAX_INPUT_PIXELS,
  });
  return { storage, media, mediaProcessor, maintenance };
}

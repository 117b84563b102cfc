import type { Config } from '../config.js';
import type { Infrastructure, Services } from '../core.js';
import type { Logger } from '../logger.js';
import { AutoMessageJobSchema } from '../modules/automessages/automessages.schemas.js';
import type { AutoMessageJob } from '../modules/automessages/automessages.service.js';
import type { Shutdown } from '../shutdown.js';

/**
 * The worker consumes `message_sending_queue` with manual acks and bounded prefetch. On shutdown
 * it stops taking jobs and lets in-flight ones finish (ack) before connections close.
 */
export async function startWorker(
  config: Readonly<Config>,
  infra: Infrastructure,
  services: Services,
  shutdown: Shutdown,
  logger: Logger,
) {
  await infra.rabbit.consume<AutoMessageJob>((job) => services.autoMessages.deliver(job), {
    prefetch: config.WORKER_PREFETCH,
    parse: (raw) => AutoMessageJobSchema.parse(raw),
  });
  shutdown.add('worker', () => infra.rabbit.stopConsuming());
  logger.info(
    { queue: infra.rabbit.queues.main, prefetch: config.WORKER_PREFETCH },
    'worker consuming',
  );
}

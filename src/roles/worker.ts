import type { Config } from '../config.js';
import type { Infrastructure, Services } from '../core.js';
import type { Logger } from '../logger.js';
import { AutoMessageJob } from '../contracts/automessages.js';
import { MediaJob } from '../contracts/media.js';
import type { Shutdown } from '../shutdown.js';
import { MicroBatcher } from '../lib/micro-batcher.js';
import { runsConsumer, startEventConsumers } from './event-consumers.js';

/**
 * The worker consumes `message_sending_queue` with manual acks and bounded prefetch. Each job is
 * acked, retried or parked on its own outcome. On shutdown it stops taking jobs and lets
 * in-flight ones finish (ack) before connections close.
 */
export async function startWorker(
  config: Readonly<Config>,
  infra: Infrastructure,
  services: Services,
  shutdown: Shutdown,
  logger: Logger,
) {
  // Jobs that arrive together are delivered as one batch (a few bulk writes instead of several
  // round trips each); half the prefetch per batch, so the next batch fills while one is written.
  const batcher = new MicroBatcher<AutoMessageJob>(
    (jobs) => services.autoMessages.deliverMany(jobs),
    {
      maxSize: Math.max(1, Math.floor(config.WORKER_PREFETCH / 2)),
      maxWaitMs: 5,
    },
  );
  // The signal aborts when the delivery can no longer be acked: a job still waiting for its batch
  // leaves it (the broker delivers it again).
  await infra.rabbit.consume<AutoMessageJob>(
    async (job, _delivery, signal) => {
      await batcher.add(job, signal);
    },
    {
      prefetch: config.WORKER_PREFETCH,
      parse: (raw) => AutoMessageJob.parse(raw),
    },
  );
  shutdown.add('worker', () => infra.rabbit.stopConsuming());
  // Media jobs run in parallel up to MEDIA_CONCURRENCY (the prefetch); sharp decodes on its own
  // threads, so the event loop stays free for the other consumers.
  await infra.mediaQueue.consume<MediaJob>(
    (job, delivery, signal) =>
      services.mediaProcessor.handle(
        job,
        {
          attempt: delivery.attempt,
          redelivered: delivery.redelivered,
          finalAttempt: delivery.attempt >= config.AUTO_MESSAGE_MAX_ATTEMPTS,
        },
        signal,
      ),
    { prefetch: config.MEDIA_CONCURRENCY, parse: (raw) => MediaJob.parse(raw) },
  );
  shutdown.add('media worker', () => infra.mediaQueue.stopConsuming());
  // The outbox relay (modules/events/relay.ts): woken by this process's writes, polling slowly
  // for other processes' and for crash recovery; one relay publishes at a time (lease).
  services.outbox.listen(() => services.relay.wake());
  services.relay.start();
  shutdown.add('event relay', () => services.relay.stop());
  await startEventConsumers(
    config,
    infra.events.names,
    services.eventConsumers.all.filter((c) => runsConsumer(config.EVENTS_CONSUMERS, c.name)),
    shutdown,
    logger,
  );
  logger.info(
    { queue: infra.rabbit.queues.main, prefetch: config.WORKER_PREFETCH },
    'worker consuming',
  );
}

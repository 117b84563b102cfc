import { parseArgs } from 'node:util';
import type { Config } from '../config.js';
import { EventBus, eventBusNames, type LogStart } from '../infra/event-bus.js';
import { createRabbit } from '../infra/rabbit.js';
import type { Logger } from '../logger.js';
import { consumerQueue } from '../modules/events/consumers.js';
import { replay, tail } from '../modules/events/event-log.js';

export const EVENTS_USAGE = `       npm run cli -- events tail [--from <ISO time | offset | first>] [--type <pattern>]
       npm run cli -- events replay --consumer <name> --from <ISO time> [--keys <pattern,...>]`;

/** `events tail` and `events replay` (SPEC §10): only RabbitMQ is needed. */
export async function eventsCommand(
  argv: string[],
  config: Readonly<Config>,
  logger: Logger,
): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      from: { type: 'string' },
      type: { type: 'string' },
      consumer: { type: 'string' },
      keys: { type: 'string' },
    },
  });
  const rabbit = createRabbit({ url: config.AMQP_URL, logger, prefix: config.AMQP_QUEUE_PREFIX });
  await rabbit.connect();
  try {
    const bus = new EventBus(rabbit, eventBusNames(config.AMQP_QUEUE_PREFIX), logger);
    if (sub === 'tail') {
      const start = parseStart(values.from);
      await tail(bus, start, values.type, ({ offset, event }) =>
        process.stdout.write(`${JSON.stringify({ offset, ...event })}\n`),
      );
      return 0;
    }
    if (sub === 'replay' && values.consumer && values.from) {
      const from = new Date(values.from);
      if (Number.isNaN(from.getTime())) throw new Error(`--from ${values.from}: not an ISO time`);
      const queue = `${config.AMQP_QUEUE_PREFIX}${consumerQueue(values.consumer)}`;
      // A consumer that never ran has no queue: say so instead of publishing into nothing.
      await rabbit
        .withChannel((ch) => ch.checkQueue(queue))
        .catch(() => {
          throw new Error(`no queue ${queue}: is "${values.consumer}" a consumer a worker runs?`);
        });
      const keys = (values.keys ?? '#').split(',');
      const count = await replay(bus, rabbit, queue, from, keys);
      process.stdout.write(`replayed ${count} events into ${queue}\n`);
      return 0;
    }
    process.stderr.write(`usage:\n${EVENTS_USAGE}\n`);
    return 2;
  } finally {
    await rabbit.close();
  }
}

function parseStart(from: string | undefined): LogStart {
  if (from === undefined || from === 'first') return { first: true };
  if (/^\d+$/.test(from)) return { offset: Number(from) };
  const at = new Date(from);
  if (Number.isNaN(at.getTime()))
    throw new Error(`--from ${from}: an ISO time, an offset or "first"`);
  return { at };
}

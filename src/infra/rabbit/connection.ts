import { connect as amqpConnect, type ChannelModel } from 'amqplib';
import type { Logger } from '../../logger.js';
import type { RabbitEvent } from './lifecycle.js';
import type { RabbitOptions } from './types.js';

/**
 * Opens the one recovering connection and turns what amqplib reports into life-cycle events.
 * amqplib ≥ 1.1 opt-in recovery reconnects with jittered exponential backoff; channels, topology
 * and consumers are not restored by amqplib, so `setup` rebuilds them on every (re)connect
 * before the connection is handed out (it dispatches `up`). Start-up gives up after
 * `startupRetries` (a wrong URL should fail the deployment); once connected it never gives up.
 */
export async function openRecoveringConnection<L>(
  options: RabbitOptions,
  setup: (model: ChannelModel) => Promise<void>,
  dispatch: (event: RabbitEvent<L>) => void,
  logger: Logger,
): Promise<ChannelModel> {
  const nodes = brokerNodes(options.url, options.heartbeatSeconds ?? 30);
  // amqplib re-reads this object on every attempt: moving it to the next node after a lost
  // connection or a failed attempt is how a recovering connection fails over across a cluster.
  const target = { ...(nodes[0] as AmqpTarget) };
  let current = 0;
  const nextNode = () => {
    if (nodes.length < 2) return;
    current = (current + 1) % nodes.length;
    Object.assign(target, nodes[current]); // every node has every key, so nothing lingers
  };
  const conn = await amqpConnect(target, recoveryOptions(options.reconnect ?? {}, setup));
  conn.on('error', (err: Error) => logger.warn({ err }, 'rabbit connection error'));
  conn.on('connect-failed', nextNode);
  conn.on('disconnect', (err: Error) => {
    nextNode();
    dispatch({ type: 'down', reason: err.message });
  });
  conn.on('blocked', (reason: unknown) => dispatch({ type: 'blocked', reason: String(reason) }));
  conn.on('unblocked', () => dispatch({ type: 'unblocked' }));
  conn.on('reconnect-scheduled', (info: { attempt: number; delay: number }) =>
    logger.debug(info, 'rabbit reconnect scheduled'),
  );
  conn.on('reconnect-failed', (err: Error) => {
    logger.error({ err }, 'rabbit gave up reconnecting');
    dispatch({ type: 'gave-up', error: err });
  });
  return conn;
}

function recoveryOptions(
  reconnect: NonNullable<RabbitOptions['reconnect']>,
  setup: (model: ChannelModel) => Promise<void>,
): Record<string, unknown> {
  return {
    // Room for a corked burst of publishes (publisher.ts `holdWrites`): at the default 16 KiB
    // amqplib stops handing the socket messages after ~40 and writes the rest one by one.
    writableHighWaterMark: 1 << 20,
    recovery: {
      waitForConnect: false,
      initialDelay: reconnect.initialDelayMs ?? 200,
      maxDelay: reconnect.maxDelayMs ?? 5_000,
      initialMaxRetries: reconnect.startupRetries ?? 5,
      maxRetries: Infinity,
      setup,
    },
  };
}

/** amqplib's object form of a URL (its string form cannot change between attempts). */
interface AmqpTarget {
  protocol: string;
  hostname: string;
  port: number;
  /** Both undefined: amqplib's default (guest), as with a string URL without credentials. */
  username: string | undefined;
  password: string | undefined;
  /** Still URL-encoded: amqplib decodes it. */
  vhost: string;
  heartbeat: number;
  frameMax: number | undefined;
  channelMax: number | undefined;
}

/**
 * AMQP_URL names one node, or several separated by commas (the nodes of one cluster, tried in
 * turn: `amqp://u:p@h1:5672/v,amqp://u:p@h2:5672/v`). Heartbeats default to `seconds`: without
 * them a silently dead peer (no FIN) is only noticed by the OS, minutes later.
 */
export function brokerNodes(urls: string, seconds: number): AmqpTarget[] {
  return urls
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean)
    .map((url) => {
      const parsed = new URL(url);
      const protocol = parsed.protocol.replace(/:$/, '');
      const query = parsed.searchParams;
      const number = (key: string) => (query.has(key) ? Number(query.get(key)) : undefined);
      const hasCredentials = parsed.username !== '' || parsed.password !== '';
      return {
        protocol,
        hostname: parsed.hostname.replace(/^\[|\]$/g, ''),
        port: Number(parsed.port) || (protocol === 'amqps' ? 5671 : 5672),
        username: hasCredentials ? decodeURIComponent(parsed.username) : undefined,
        password: hasCredentials ? decodeURIComponent(parsed.password) : undefined,
        vhost: parsed.pathname.slice(1),
        heartbeat: number('heartbeat') ?? seconds,
        frameMax: number('frameMax'),
        channelMax: number('channelMax'),
      };
    });
}

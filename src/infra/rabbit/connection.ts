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
  const conn = await amqpConnect(
    withHeartbeat(options.url, options.heartbeatSeconds ?? 30),
    recoveryOptions(options.reconnect ?? {}, setup),
  );
  conn.on('error', (err: Error) => logger.warn({ err }, 'rabbit connection error'));
  conn.on('disconnect', (err: Error) => dispatch({ type: 'down', reason: err.message }));
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

/** Without heartbeats a silently dead peer (no FIN) is only noticed by the OS, minutes later. */
export function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}

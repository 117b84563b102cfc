import type { ChannelModel } from 'amqplib';
import type { RabbitOptions } from './types.js';

/**
 * amqplib ≥ 1.1 opt-in recovery: the connection reconnects with jittered exponential backoff;
 * channels, topology and consumers are not restored by amqplib, so `setup` rebuilds them on every
 * (re)connect before the connection is handed out. Start-up gives up after `startupRetries`
 * (a wrong URL should fail the deployment); once connected it never gives up.
 */
export function recoveryOptions(
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

import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/contracts/socket.js';
import { sleep } from './stats.js';

export type BenchSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** One sender → receiver pair in one conversation (for the raw relay: the receiver's id). */
export interface Pair {
  sender: BenchSocket;
  receiver: BenchSocket;
  conversationId: string;
}

/** Connects with Parley's token auth, or the raw relay's plain user id. */
export function connect(
  url: string,
  auth: { token: string } | { userId: string },
): Promise<BenchSocket> {
  const socket: BenchSocket = io(url, {
    auth,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.disconnect();
      reject(error);
    });
  });
}

/** Connects `auths.length` sockets, `concurrency` handshakes at a time. */
export async function connectMany(
  url: string,
  auths: readonly ({ token: string } | { userId: string })[],
  concurrency = 100,
): Promise<BenchSocket[]> {
  const sockets: BenchSocket[] = new Array<BenchSocket>(auths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < auths.length) {
      const i = next++;
      sockets[i] = await connect(url, auths[i] as { token: string });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, auths.length) }, worker));
  return sockets;
}

export function disconnectAll(sockets: readonly BenchSocket[]): void {
  for (const socket of sockets) socket.disconnect();
}

function seqOf(content: string): number {
  return Number(content.slice(content.indexOf(':') + 1));
}

export interface ClosedLoopResult {
  delivered: number;
  seconds: number;
  perSecond: number;
  errors: number;
}

/**
 * Peak throughput: each pair keeps exactly one message in flight, sending the next as soon as
 * the receiver gets `message_received` for the previous one.
 */
export async function closedLoop(
  pairs: readonly Pair[],
  durationMs: number,
): Promise<ClosedLoopResult> {
  let running = true;
  let delivered = 0;
  let errors = 0;
  let inFlight = 0;
  const started = performance.now();
  const end = started + durationMs;
  const cleanups = pairs.map((pair, p) => {
    let seq = 0;
    const send = (): void => {
      inFlight += 1;
      pair.sender.emit(
        'send_message',
        { conversationId: pair.conversationId, content: `c${p}:${seq}` },
        (ack) => {
          if (!ack.ok) {
            errors += 1;
            inFlight -= 1;
          }
        },
      );
    };
    const onMessage = ({ message }: { message: { content: string } }): void => {
      if (seqOf(message.content) !== seq) return;
      inFlight -= 1;
      if (performance.now() <= end) delivered += 1;
      seq += 1;
      if (running) send();
    };
    pair.receiver.on('message_received', onMessage);
    send();
    return () => pair.receiver.off('message_received', onMessage);
  });
  await sleep(durationMs);
  running = false;
  const settleBy = performance.now() + 5000;
  while (inFlight > 0 && performance.now() < settleBy) await sleep(5);
  for (const cleanup of cleanups) cleanup();
  const seconds = durationMs / 1000;
  return { delivered, seconds, perSecond: delivered / seconds, errors };
}

export interface OpenLoopResult {
  sent: number;
  received: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  errors: number;
}

/**
 * Latency at a fixed offered rate: message k is due at t0 + k/rate whatever happened before
 * (no coordinated omission); its latency runs from that due time to the receiver's event.
 */
export async function openLoop(
  pairs: readonly Pair[],
  rate: number,
  durationMs: number,
): Promise<OpenLoopResult> {
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000 });
  const due = new Float64Array(total);
  let received = 0;
  let errors = 0;
  const onAck = (ack: { ok: boolean }): void => {
    if (!ack.ok) errors += 1;
  };
  const cleanups = pairs.map((pair) => {
    const onMessage = ({ message }: { message: { content: string } }): void => {
      const k = seqOf(message.content);
      histogram.recordValue(Math.max(1, Math.round((performance.now() - (due[k] ?? 0)) * 1000)));
      received += 1;
    };
    pair.receiver.on('message_received', onMessage);
    return () => pair.receiver.off('message_received', onMessage);
  });
  const t0 = performance.now();
  for (let k = 0; k < total; k += 1) due[k] = t0 + (k * 1000) / rate;
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && (due[next] ?? 0) <= now) {
      const pair = pairs[next % pairs.length] as Pair;
      pair.sender.emit(
        'send_message',
        { conversationId: pair.conversationId, content: `L:${next}` },
        onAck,
      );
      next += 1;
    }
    await sleep(1);
  }
  const settleBy = performance.now() + 5000;
  while (received + errors < total && performance.now() < settleBy) await sleep(5);
  for (const cleanup of cleanups) cleanup();
  const out = {
    sent: total,
    received,
    p50Ms: histogram.getValueAtPercentile(50) / 1000,
    p99Ms: histogram.getValueAtPercentile(99) / 1000,
    p999Ms: histogram.getValueAtPercentile(99.9) / 1000,
    maxMs: histogram.maxValue / 1000,
    errors,
  };
  histogram.destroy();
  return out;
}

import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import type { ConfirmChannel, Message, MessagePropertyHeaders, Options } from 'amqplib';
import { asError } from '../../errors.js';
import { ATTEMPT_HEADER } from './topology.js';

/** One message ready for the wire. `messageId` is required: unroutable returns are matched by it. */
export interface OutgoingMessage {
  /** The routing key: a queue name on the default exchange, or a topic key with `exchange`. */
  readonly queue: string;
  /** Default: '' (the default exchange, which routes by queue name). */
  readonly exchange?: string;
  readonly content: Buffer;
  readonly options: Options.Publish & { messageId: string };
}

/** null = confirmed by the broker; an Error = not confirmed (nack, unroutable, channel lost). */
export type PublishOutcome = Error | null;

/**
 * Wraps a confirm channel. Publishes are pipelined: everything is written first and the confirms
 * are awaited together (awaiting each one singly caps throughput at the round-trip rate).
 */
export class ConfirmPublisher {
  // basic.return arrives before the basic.ack of the same message, so the confirm callback can
  // tell "queued" from "acked but dropped because no queue matched" (mandatory flag).
  private readonly returned = new Set<string>();

  constructor(readonly channel: ConfirmChannel) {
    channel.on('return', (msg: Message) => {
      const id: unknown = msg.properties.messageId;
      if (typeof id === 'string') this.returned.add(id);
    });
  }

  async publishAll(messages: readonly OutgoingMessage[]): Promise<PublishOutcome[]> {
    if (messages.length === 0) return [];
    // One promise for the batch, settled by the last confirm, rather than one per message and
    // a Promise.all over them (the relay's batches are 1,000).
    const outcomes = new Array<PublishOutcome>(messages.length);
    let waiting = messages.length;
    let allConfirmed: () => void = () => undefined;
    const confirmed = new Promise<void>((resolve) => (allConfirmed = resolve));
    const settle = (i: number, outcome: PublishOutcome): void => {
      outcomes[i] = outcome;
      if (--waiting === 0) allConfirmed();
    };
    let next = 0;
    while (next < messages.length) {
      const release = holdWrites(this.channel, messages.length - next);
      let flushed = true;
      try {
        while (flushed && next < messages.length) {
          const i = next++;
          flushed = this.publishOne(messages[i] as OutgoingMessage, (outcome) =>
            settle(i, outcome),
          );
        }
      } finally {
        release();
      }
      // false = the channel's buffer is full: wait for 'drain' so a large batch does not balloon
      // memory.
      if (!flushed) await this.drained();
    }
    await confirmed;
    return outcomes;
  }

  /** Writes one message; `done` gets its outcome. False when the channel's buffer is full. */
  private publishOne(message: OutgoingMessage, done: (outcome: PublishOutcome) => void): boolean {
    const id = message.options.messageId;
    const options = { ...message.options, mandatory: true, persistent: true };
    try {
      return this.channel.publish(
        message.exchange ?? '',
        message.queue,
        message.content,
        options,
        (err: unknown) => {
          if (this.returned.delete(id))
            done(new Error(`unroutable: nothing bound for ${message.queue}`));
          else done(err === null || err === undefined ? null : asError(err));
        },
      );
    } catch (err) {
      // amqplib throws synchronously once the channel is closed.
      done(asError(err));
      return true;
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.channel.off('drain', done);
        this.channel.off('close', done);
        resolve();
      };
      this.channel.on('drain', done);
      this.channel.on('close', done);
    });
  }
}

/**
 * Holds back the socket writes of a burst of publishes so they leave in one `writev` instead of
 * one write (a syscall) per message, which cost the relay a quarter of its CPU at batches of
 * 1,000. amqplib queues each message on the channel and writes them all to the socket from one
 * `setImmediate`, scheduled on the next tick after the first one is queued; the uncork is
 * scheduled after it the same way. A single message is not held (no wait added to it).
 */
function holdWrites(channel: ConfirmChannel, count: number): () => void {
  const stream: unknown = (channel.connection as { stream?: unknown }).stream;
  if (count < 2 || !(stream instanceof Socket)) return () => undefined;
  stream.cork();
  return () => process.nextTick(() => setImmediate(() => stream.uncork()));
}

/** A new job: persistent JSON, first attempt. */
export function jsonMessage(
  queue: string,
  payload: unknown,
  messageId: string | undefined,
): OutgoingMessage {
  return {
    queue,
    content: Buffer.from(JSON.stringify(payload)),
    options: {
      messageId: messageId ?? randomUUID(),
      contentType: 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
      headers: { [ATTEMPT_HEADER]: 1 },
    },
  };
}

/** The same job (body, id) bound for a retry or parking queue with new headers. */
export function copyOf(
  queue: string,
  msg: Message,
  headers: MessagePropertyHeaders,
): OutgoingMessage {
  const { messageId, contentType, timestamp } = msg.properties as {
    messageId?: unknown;
    contentType?: unknown;
    timestamp?: unknown;
  };
  return {
    queue,
    content: msg.content,
    options: {
      messageId: typeof messageId === 'string' ? messageId : randomUUID(),
      contentType: typeof contentType === 'string' ? contentType : 'application/json',
      ...(typeof timestamp === 'number' ? { timestamp } : {}),
      headers,
    },
  };
}

import { EventEmitter } from 'node:events';
import type { Logger } from '../../logger.js';
import { QueueUnavailableError } from '../job-errors.js';
import {
  initialState,
  liveOf,
  publishAccess,
  transition,
  type RabbitEvent,
  type RabbitState,
} from './lifecycle.js';

/** What a waiter decides on seeing a state: keep waiting (undefined), a value, or an error. */
type Verdict<R> = { readonly value: R } | { readonly error: Error } | undefined;

/**
 * Holds the one current state of the connection. Every change goes through `dispatch` (which
 * applies the pure transition, logs it and wakes waiters), so the rest of the client reads the
 * state instead of keeping flags of its own. Knows nothing of amqplib: unit-tested alone.
 */
export class Supervisor<L> {
  private current: RabbitState<L> = initialState;
  private readonly changes = new EventEmitter();

  constructor(private readonly logger: Logger) {
    this.changes.setMaxListeners(0); // every publish waiting out an outage listens
  }

  get state(): RabbitState<L> {
    return this.current;
  }

  get live(): L | null {
    return liveOf(this.current);
  }

  dispatch(event: RabbitEvent<L>): RabbitState<L> {
    const before = this.current;
    const after = transition(before, event);
    if (after === before) return before;
    this.current = after;
    this.logger.debug({ from: before.phase, to: after.phase, event: event.type }, 'rabbit state');
    this.changes.emit('change', after, event);
    return after;
  }

  /** The connection to publish on: now, once it is back within `timeoutMs`, or a clear error. */
  whenPublishable(timeoutMs: number): Promise<L> {
    return this.until<L>((state) => {
      const access = publishAccess(state);
      if (access === 'wait') return undefined;
      if (access === 'unavailable') return { error: new QueueUnavailableError('rabbit is closed') };
      return { value: access.use };
    }, timeoutMs);
  }

  /** connect()'s outcome: ready, or why not (start-up gave up, close() came first). */
  whenStarted(): Promise<void> {
    return this.until<void>((state, event) => {
      if (state.phase === 'ready' || state.phase === 'blocked') return { value: undefined };
      if (state.phase === 'idle' && event?.type === 'gave-up')
        return {
          error: new QueueUnavailableError('could not connect to RabbitMQ', { cause: event.error }),
        };
      if (state.phase === 'closing' || state.phase === 'closed')
        return { error: new QueueUnavailableError('rabbit closed while connecting') };
      return undefined;
    });
  }

  private until<R>(
    decide: (state: RabbitState<L>, event: RabbitEvent<L> | null) => Verdict<R>,
    timeoutMs?: number,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (verdict: NonNullable<Verdict<R>>): void => {
        clearTimeout(timer);
        this.changes.off('change', onChange);
        if ('error' in verdict) reject(verdict.error);
        else resolve(verdict.value);
      };
      const onChange = (state: RabbitState<L>, event: RabbitEvent<L>): void => {
        const verdict = decide(state, event);
        if (verdict) finish(verdict);
      };
      const now = decide(this.current, null);
      if (now) return finish(now);
      this.changes.on('change', onChange);
      if (timeoutMs !== undefined)
        timer = setTimeout(
          () =>
            finish({
              error: new QueueUnavailableError(`no RabbitMQ connection within ${timeoutMs} ms`),
            }),
          timeoutMs,
        );
    });
  }
}

import { asError } from '../errors.js';

/**
 * Collects items that arrive close together and hands them to `flush` as one batch, so N
 * concurrent jobs cost a few bulk round trips instead of N × several. Each `add` resolves with
 * its own item's result or rejects with its own error (flush returns one per item, in order), so
 * callers keep per-item semantics (a queue consumer still acks, retries or parks each job on its
 * own; a send still learns whether its own message was stored).
 *
 * `maxWaitMs: 0` flushes once the current turn of the event loop has run (setImmediate): what
 * arrived in the same I/O read goes together, and nothing waits for a timer (group commit).
 */
export class MicroBatcher<T, R = null> {
  private pending: Pending<T, R>[] = [];
  /** Cancels the scheduled flush, if one is scheduled. */
  private cancel: (() => void) | null = null;

  constructor(
    private readonly flush: (items: T[]) => Promise<(R | Error)[]>,
    private readonly options: { maxSize: number; maxWaitMs: number },
  ) {}

  /**
   * `signal` aborting before the item's batch is flushed takes the item out of it and rejects
   * with the abort reason (a queue consumer aborts when the delivery can no longer be acked;
   * the broker delivers the job again). Once flushed, the item runs to its own outcome.
   */
  add(item: T, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<R>((resolve, reject) => {
      const entry: Pending<T, R> = { item, resolve, reject, detach: () => undefined };
      if (signal) {
        const onAbort = (): void => this.withdraw(entry, abortReason(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.push(entry);
      if (this.pending.length >= this.options.maxSize) this.flushNow();
      else this.cancel ??= this.schedule();
    });
  }

  private schedule(): () => void {
    const flush = () => this.flushNow();
    if (this.options.maxWaitMs > 0) {
      const timer = setTimeout(flush, this.options.maxWaitMs);
      return () => clearTimeout(timer);
    }
    const immediate = setImmediate(flush);
    return () => clearImmediate(immediate);
  }

  private withdraw(entry: Pending<T, R>, reason: Error): void {
    const index = this.pending.indexOf(entry);
    if (index < 0) return; // already flushed: it settles with its batch
    this.pending.splice(index, 1);
    entry.reject(reason);
  }

  private flushNow(): void {
    this.cancel?.();
    this.cancel = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    for (const p of batch) p.detach();
    this.flush(batch.map((p) => p.item)).then(
      (outcomes) =>
        batch.forEach((p, i) => {
          const outcome = i < outcomes.length ? (outcomes[i] as R | Error) : missing();
          if (outcome instanceof Error) p.reject(outcome);
          else p.resolve(outcome);
        }),
      (error: unknown) => {
        for (const p of batch) p.reject(asError(error));
      },
    );
  }
}

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: Error) => void;
  /** Stops listening to the item's abort signal once it is in a flushed batch. */
  detach: () => void;
}

function missing(): Error {
  return new Error('batch returned no outcome for this item');
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

import { asError } from '../errors.js';

/**
 * Collects items that arrive close together and hands them to `flush` as one batch, so N
 * concurrent jobs cost a few bulk round trips instead of N × several. Each `add` resolves or
 * rejects with its own item's outcome (flush returns one per item, in order), so callers keep
 * per-item semantics (a queue consumer still acks, retries or parks each job on its own).
 */
export class MicroBatcher<T> {
  private pending: Pending<T>[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly flush: (items: T[]) => Promise<(Error | null)[]>,
    private readonly options: { maxSize: number; maxWaitMs: number },
  ) {}

  /**
   * `signal` aborting before the item's batch is flushed takes the item out of it and rejects
   * with the abort reason (a queue consumer aborts when the delivery can no longer be acked;
   * the broker delivers the job again). Once flushed, the item runs to its own outcome.
   */
  add(item: T, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const entry: Pending<T> = { item, resolve, reject, detach: () => undefined };
      if (signal) {
        const onAbort = (): void => this.withdraw(entry, abortReason(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.push(entry);
      if (this.pending.length >= this.options.maxSize) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.options.maxWaitMs);
    });
  }

  private withdraw(entry: Pending<T>, reason: Error): void {
    const index = this.pending.indexOf(entry);
    if (index < 0) return; // already flushed: it settles with its batch
    this.pending.splice(index, 1);
    entry.reject(reason);
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    for (const p of batch) p.detach();
    this.flush(batch.map((p) => p.item)).then(
      (outcomes) =>
        batch.forEach((p, i) => {
          const outcome = outcomes[i];
          if (outcome === undefined) p.reject(new Error('batch returned no outcome for this item'));
          else if (outcome) p.reject(outcome);
          else p.resolve();
        }),
      (error: unknown) => {
        for (const p of batch) p.reject(asError(error));
      },
    );
  }
}

interface Pending<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  /** Stops listening to the item's abort signal once it is in a flushed batch. */
  detach: () => void;
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}

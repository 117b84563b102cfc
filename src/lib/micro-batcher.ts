/**
 * Collects items that arrive close together and hands them to `flush` as one batch, so N
 * concurrent jobs cost a few bulk round trips instead of N × several. Each `add` resolves or
 * rejects with its own item's outcome (flush returns one per item, in order), so callers keep
 * per-item semantics (a queue consumer still acks, retries or parks each job on its own).
 */
export class MicroBatcher<T> {
  private pending: { item: T; resolve: () => void; reject: (error: Error) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly flush: (items: T[]) => Promise<(Error | null)[]>,
    private readonly options: { maxSize: number; maxWaitMs: number },
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.options.maxSize) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.options.maxWaitMs);
    });
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.flush(batch.map((p) => p.item)).then(
      (outcomes) =>
        batch.forEach((p, i) => {
          const outcome = outcomes[i];
          if (outcome === undefined) p.reject(new Error('batch returned no outcome for this item'));
          else if (outcome) p.reject(outcome);
          else p.resolve();
        }),
      (error: unknown) => {
        const reason = error instanceof Error ? error : new Error(String(error));
        for (const p of batch) p.reject(reason);
      },
    );
  }
}

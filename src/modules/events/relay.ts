import { randomUUID } from 'node:crypto';
import type { Logger } from '../../logger.js';
import type { OutboxEntry } from './outbox.js';
import type { LeaseState, PendingDoc } from './outbox.repository.js';

export interface RelayStore {
  /**
   * Oldest first. `inFlight`: a batch read before and not yet cleared, which still comes first
   * in that order: the documents after it (the next batch, read while it is published).
   */
  pending(limit: number, inFlight?: readonly PendingDoc[]): Promise<PendingDoc[]>;
  clear(docs: readonly PendingDoc[]): Promise<void>;
}

export interface RelayLease {
  acquire(owner: string, ttlMs: number): Promise<LeaseState | null>;
  /**
   * Records `ids` as in flight. `since`: when the oldest of them may have reached the log
   * (default: now). Resolves to now, as recorded, or null when the lease is lost.
   */
  begin(owner: string, ttlMs: number, ids: readonly string[], since?: Date): Promise<Date | null>;
  settled(owner: string): Promise<void>;
  release(owner: string): Promise<void>;
}

export interface RelayBus {
  publish(events: readonly OutboxEntry[]): Promise<(Error | null)[]>;
  publishedAmong(ids: readonly string[], since: Date): Promise<Set<string>>;
}

interface Batch {
  readonly docs: readonly PendingDoc[];
  readonly events: readonly OutboxEntry[];
  /** Not found in the log by a takeover: to be published. */
  readonly fresh: readonly OutboxEntry[];
  /** When it was recorded as in flight: its events reached the log after that. */
  readonly began: Date;
}

export interface RelayOptions {
  /** Documents read (and events published) per batch. */
  readonly batchSize: number;
  /** Fallback poll when idle: other processes' writes, crash recovery, lease upkeep. */
  readonly pollMs: number;
  readonly leaseMs: number;
}

/**
 * Publishes the outbox (outbox.ts) to the events exchange: exactly once as the log and the
 * consumers see it. One relay at a time holds the lease; it is woken at once by a local write
 * and otherwise polls slowly. Per batch: record the ids (the lease's `inflight`), publish them
 * all with confirms awaited together, clear them with one bulk write per collection; the next
 * batch is read and the previous one cleared while a batch is being published. A relay
 * taking over from one that died mid-batch first looks up which in-flight ids already reached
 * the log and clears those without publishing them again.
 */
export class EventRelay {
  private readonly owner = randomUUID();
  private running: Promise<void> | null = null;
  private stopping = false;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private leader = false;
  /** In-doubt events found in the log: cleared without a second publish. */
  private alreadyPublished = new Set<string>();
  /** When the predecessor that published them began its batch. */
  private alreadyPublishedSince: Date | undefined;
  private inflightOpen = false;
  private published = 0;

  constructor(
    private readonly store: RelayStore,
    private readonly lease: RelayLease,
    private readonly bus: RelayBus,
    private readonly options: RelayOptions,
    private readonly logger: Logger,
    private readonly onPublished: (events: readonly OutboxEntry[]) => void = () => undefined,
  ) {}

  /** Events this relay published since it started. */
  get publishedCount(): number {
    return this.published;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** A local write stored events: run a pass now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Finishes the batch in progress, then gives the lease up. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.running;
    if (this.leader) {
      await this.lease
        .release(this.owner)
        .catch((err: unknown) => this.logger.warn({ err }, 'event relay: lease release failed'));
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        if (!(await this.pass()) && !this.stopping) await this.idle();
      } catch (err) {
        // A pass or an idle lease renewal failed (database or broker down): the in-flight ids
        // stay recorded; recover by leading again after a pause (no longer the leader, the
        // pause renews nothing and cannot fail).
        this.logger.warn({ err }, 'event relay failed; retrying after a pause');
        this.leader = false;
        if (!this.stopping) await this.idle();
      }
    }
  }

  /**
   * Publishes what is pending, batch after batch, pipelined: while batch N is published, batch
   * N-1 is cleared and then N+1 read (the documents after N). So the lease's in-flight record
   * names N-1 and N together, and its `since` is when N-1 began. True when there may be more to
   * do right away.
   */
  private async pass(): Promise<boolean> {
    if (!this.leader && !(await this.lead())) return false;
    this.woken = false;
    const { batchSize } = this.options;
    let docs: readonly PendingDoc[] = await this.store.pending(batchSize);
    let previous: Batch | null = null;
    while (docs.length > 0) {
      const { inDoubt, since, ...rest } = this.batchOf(docs, previous);
      const began = await this.lease.begin(this.owner, this.options.leaseMs, inDoubt, since);
      if (began === null) {
        this.leader = false;
        return false;
      }
      const batch: Batch = { ...rest, began };
      this.inflightOpen = true;
      const more = docs.length >= batchSize && !this.stopping;
      const [outcomes, next] = await Promise.all([
        this.bus.publish(batch.fresh),
        this.finishThenRead(previous, more ? docs : null),
      ]);
      const failed = outcomes.find((o) => o !== null);
      if (failed) throw failed;
      previous = batch;
      docs = next;
    }
    if (previous) await this.finish(previous);
    if (this.inflightOpen) {
      await this.lease.settled(this.owner);
      this.inflightOpen = false;
    }
    return this.woken;
  }

  /** What to publish of `docs`, and what stays in doubt while it is published. */
  private batchOf(
    docs: readonly PendingDoc[],
    previous: Batch | null,
  ): Omit<Batch, 'began'> & { inDoubt: string[]; since: Date | undefined } {
    const events = docs.flatMap((d) => d.events);
    // What a predecessor published but nobody cleared stays in doubt, with the predecessor's
    // start, until it is cleared: a successor of this relay must find it in the log too.
    const inDoubt = new Set([
      ...events.map((e) => e.id),
      ...(previous?.events.map((e) => e.id) ?? []),
      ...this.alreadyPublished,
    ]);
    const since =
      this.alreadyPublished.size > 0 && this.alreadyPublishedSince
        ? this.alreadyPublishedSince
        : previous?.began;
    return {
      docs,
      events,
      fresh: events.filter((e) => !this.alreadyPublished.has(e.id)),
      inDoubt: [...inDoubt],
      since,
    };
  }

  /** The database's part of a step, beside the publish: clear the last batch, read the next. */
  private async finishThenRead(
    previous: Batch | null,
    inFlight: readonly PendingDoc[] | null,
  ): Promise<readonly PendingDoc[]> {
    if (previous) await this.finish(previous);
    return inFlight ? this.store.pending(this.options.batchSize, inFlight) : [];
  }

  /** A published batch is cleared from the documents, and no longer in doubt. */
  private async finish(batch: Batch): Promise<void> {
    await this.store.clear(batch.docs);
    for (const e of batch.events) this.alreadyPublished.delete(e.id);
    this.published += batch.fresh.length;
    this.onPublished(batch.fresh);
  }

  /** Takes (or keeps) the lease; on taking it, settles what a predecessor left in doubt. */
  private async lead(): Promise<boolean> {
    const state = await this.lease.acquire(this.owner, this.options.leaseMs);
    if (state === null) return false;
    this.leader = true;
    this.alreadyPublished = state.inflight
      ? await this.bus.publishedAmong(state.inflight.ids, state.inflight.since)
      : new Set();
    this.alreadyPublishedSince = state.inflight?.since;
    if (state.inflight) {
      this.logger.info(
        { inDoubt: state.inflight.ids.length, alreadyPublished: this.alreadyPublished.size },
        'event relay: recovered an unfinished batch',
      );
    }
    return true;
  }

  private async idle(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.options.pollMs);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
    this.wakeUp = null;
    this.woken = false;
    // A leader renews its lease at every poll, even with nothing to publish.
    if (this.leader && !this.stopping) {
      this.leader = (await this.lease.acquire(this.owner, this.options.leaseMs)) !== null;
    }
  }
}

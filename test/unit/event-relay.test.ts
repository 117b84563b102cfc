/**
 * The relay's takeover rules, with the outbox, the lease and the log kept in memory: a relay
 * "dies" by never getting an answer to its publish (its loop is simply abandoned), and the next
 * one takes over once the lease is marked expired. The real repositories and RabbitMQ stream are
 * exercised by test/integration/events-crash.test.ts with kill -9.
 */
import assert from 'node:assert/strict';
import { ObjectId } from 'mongodb';
import { test } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { domainEvent, outboxEntry, type OutboxEntry } from '../../src/modules/events/outbox.js';
import type { LeaseState, PendingDoc } from '../../src/modules/events/outbox.repository.js';
import {
  EventRelay,
  type RelayBus,
  type RelayLease,
  type RelayStore,
} from '../../src/modules/events/relay.js';
import { eventually } from '../support/wait.js';

/** A clock the test moves: publishes and lease records are stamped with it. */
let now = 0;

class MemoryOutbox implements RelayStore {
  docs: PendingDoc[] = [];
  add(count: number): void {
    for (let i = 0; i < count; i += 1) {
      const event = domainEvent('user.registered', `u${i}`, null, {
        userId: new ObjectId().toHexString(),
        username: `u${i}`,
        displayName: `U ${i}`,
      });
      this.docs.push({
        collection: 'users',
        id: new ObjectId(),
        seq: 1,
        events: [outboxEntry(event)],
      });
    }
  }
  pending(limit: number, inFlight: readonly PendingDoc[] = []): Promise<PendingDoc[]> {
    return Promise.resolve(this.docs.filter((d) => !inFlight.includes(d)).slice(0, limit));
  }
  /** Set when the relay dies: its clears never reach the documents. */
  frozen = false;
  clear(docs: readonly PendingDoc[]): Promise<void> {
    if (this.frozen) return new Promise(() => undefined);
    this.docs = this.docs.filter((d) => !docs.includes(d));
    return Promise.resolve();
  }
}

class MemoryLease implements RelayLease {
  owner: string | null = null;
  inflight: LeaseState['inflight'] = null;
  /** The holder stopped renewing (it died): the next acquire takes the lease over. */
  expire(): void {
    this.owner = null;
  }
  acquire(owner: string): Promise<LeaseState | null> {
    if (this.owner !== null && this.owner !== owner) return Promise.resolve(null);
    this.owner = owner;
    return Promise.resolve({ inflight: this.inflight });
  }
  begin(owner: string, _ttl: number, ids: readonly string[], since?: Date): Promise<Date | null> {
    if (this.owner !== owner) return Promise.resolve(null);
    this.inflight = { since: since ?? new Date(now), ids: [...ids] };
    return Promise.resolve(new Date(now));
  }
  settled(owner: string): Promise<void> {
    if (this.owner === owner) this.inflight = null;
    return Promise.resolve();
  }
  release(owner: string): Promise<void> {
    if (this.owner === owner) this.owner = null;
    return Promise.resolve();
  }
}

/** The log: every append stamped with the clock; `dieAfter` appends, then publishes hang. */
class MemoryLog implements RelayBus {
  log: { at: number; event: OutboxEntry }[] = [];
  private dieAfter = Infinity;
  private died: (() => void) | null = null;
  /** Runs at the moment of death, before anything else the relay does. */
  onDeath: () => void = () => undefined;

  /** Resolves once the current relay has appended `count` events and hung (it is "dead"). */
  killAfter(count: number): Promise<void> {
    this.dieAfter = count;
    return new Promise((resolve) => (this.died = resolve));
  }
  publish(events: readonly OutboxEntry[]): Promise<(Error | null)[]> {
    now += 1; // time passes between batches: a batch recorded later must not hide an earlier one
    for (const event of events) {
      if (this.dieAfter === 0) {
        this.dieAfter = Infinity;
        this.onDeath();
        this.died?.();
        return new Promise(() => undefined);
      }
      this.dieAfter -= 1;
      this.log.push({ at: now, event });
    }
    if (this.dieAfter === 0) {
      // Everything appended, then the process died before the confirms came back.
      this.dieAfter = Infinity;
      this.onDeath();
      this.died?.();
      return new Promise(() => undefined);
    }
    now += 1;
    return Promise.resolve(events.map(() => null));
  }
  publishedAmong(ids: readonly string[], since: Date): Promise<Set<string>> {
    const wanted = new Set(ids);
    return Promise.resolve(
      new Set(
        this.log
          .filter((e) => e.at >= since.getTime() && wanted.has(e.event.id))
          .map((e) => e.event.id),
      ),
    );
  }
}

function relay(outbox: MemoryOutbox, lease: MemoryLease, log: MemoryLog): EventRelay {
  const options = { batchSize: 10, pollMs: 5, leaseMs: 1000 };
  return new EventRelay(outbox, lease, log, options, silentLogger);
}

/** Waits until the outbox is empty, then stops `relay`. */
async function drained(outbox: MemoryOutbox, last: EventRelay): Promise<void> {
  last.start();
  await eventually(() => outbox.docs.length === 0, 5000, 'the last relay to clear the outbox', 1);
  await last.stop();
}

function assertOnce(log: MemoryLog, count: number): void {
  const ids = log.log.map((e) => e.event.id);
  assert.equal(ids.length, count, `${count} events in the log, got ${ids.length}`);
  assert.equal(new Set(ids).size, count, 'none of them twice');
}

test('relays that die one after another mid-batch still publish every event exactly once', async () => {
  const outbox = new MemoryOutbox();
  const lease = new MemoryLease();
  const log = new MemoryLog();
  outbox.add(10);

  // The first relay appends 3 of its batch of 10 and dies.
  let died = log.killAfter(3);
  relay(outbox, lease, log).start();
  await died;
  now += 60_000;
  lease.expire();

  // Its successor finds those 3 in the log, appends the other 7 and dies before clearing.
  died = log.killAfter(7);
  relay(outbox, lease, log).start();
  await died;
  now += 60_000;
  lease.expire();

  // The third must publish nothing again: all 10 are in the log, the first 3 since a minute before
  // the second relay began.
  const third = relay(outbox, lease, log);
  await drained(outbox, third);
  assertOnce(log, 10);
  assert.equal(third.publishedCount, 0);
});

// Batches are pipelined: the second is published while the first is cleared, so a relay dying
// in the second batch leaves both in doubt, and one dying after it the third's too.
for (const [dieAfter, label] of [
  [15, 'halfway through its second batch'],
  [20, 'after its second batch, before the confirms'],
  [23, 'in its third batch'],
] as const) {
  test(`a relay that dies ${label} (pipelined batches) leaves every event published once`, async () => {
    const outbox = new MemoryOutbox();
    const lease = new MemoryLease();
    const log = new MemoryLog();
    outbox.add(25);
    // The previous batch's clear, running beside the publish, dies with the relay too.
    log.onDeath = () => (outbox.frozen = true);
    const died = log.killAfter(dieAfter);
    relay(outbox, lease, log).start();
    await died;
    now += 60_000;
    lease.expire();
    outbox.frozen = false;
    const next = relay(outbox, lease, log);
    await drained(outbox, next);
    assertOnce(log, 25);
    assert.equal(next.publishedCount, 25 - dieAfter);
  });
}

test('a relay keeps running through a database outage and publishes once the database is back', async () => {
  const outbox = new MemoryOutbox();
  const log = new MemoryLog();
  let down = false;
  let failedCalls = 0;
  // Every lease call fails while the database is down, the idle renewal included.
  const lease = new (class extends MemoryLease {
    override acquire(owner: string): Promise<LeaseState | null> {
      if (down) {
        failedCalls += 1;
        return Promise.reject(new Error('connect ECONNREFUSED'));
      }
      return super.acquire(owner);
    }
  })();
  const r = relay(outbox, lease, log);
  r.start();
  // Leading and idle: the outage starts between two polls, so the renewal is what fails.
  await eventually(() => lease.owner !== null, 5000, 'the relay to lead', 1);
  down = true;
  await eventually(() => failedCalls >= 3, 5000, 'the relay to keep trying through the outage', 1);
  outbox.add(12);
  down = false;
  await drained(outbox, r);
  assertOnce(log, 12);
});

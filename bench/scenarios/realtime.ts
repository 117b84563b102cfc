import type { BenchChild } from '../lib/child.js';
import type { BenchUser, Fixtures } from '../lib/fixtures.js';
import { compareRuns, medians, withCpu, type Measured } from '../lib/measure.js';
import {
  closedLoop,
  connectMany,
  disconnectAll,
  openLoop,
  type BenchSocket,
  type ClosedLoopResult,
  type OpenLoopResult,
  type Pair,
} from '../lib/sockets.js';
import { interleave, median, round, sleep } from '../lib/stats.js';
import type { Context, RowResult } from '../lib/types.js';

export interface RealtimeSides {
  parley: BenchChild;
  baseline: BenchChild;
}

interface PairSet {
  pairs: Pair[];
  sockets: BenchSocket[];
}

export async function parleyPairs(
  url: string,
  fixtures: Fixtures,
  users: BenchUser[],
): Promise<PairSet> {
  const sockets = await connectMany(
    url,
    users.map((u) => ({ token: u.token })),
  );
  const pairs: Pair[] = [];
  for (let i = 0; i + 1 < users.length; i += 2) {
    const [a, b] = [users[i] as BenchUser, users[i + 1] as BenchUser];
    pairs.push({
      sender: sockets[i] as BenchSocket,
      receiver: sockets[i + 1] as BenchSocket,
      conversationId: await fixtures.directConversation(a.userId, b.userId),
    });
  }
  return { pairs, sockets };
}

async function rawPairs(url: string, count: number): Promise<PairSet> {
  const ids = Array.from({ length: count * 2 }, (_, i) => `raw${i}`);
  const sockets = await connectMany(
    url,
    ids.map((userId) => ({ userId })),
  );
  const pairs: Pair[] = [];
  for (let i = 0; i + 1 < ids.length; i += 2)
    pairs.push({
      sender: sockets[i] as BenchSocket,
      receiver: sockets[i + 1] as BenchSocket,
      conversationId: ids[i + 1] as string,
    });
  return { pairs, sockets };
}

/** Rows 1a (closed-loop throughput) and 1b (open-loop latency at a fixed rate). */
export async function messagingRows(
  ctx: Context,
  sides: RealtimeSides,
  fixtures: Fixtures,
): Promise<RowResult[]> {
  const { profile } = ctx;
  const users = await fixtures.usersWithTokens(profile.pairs * 2);
  const parley = await parleyPairs(sides.parley.url, fixtures, users);
  const raw = await rawPairs(sides.baseline.url, profile.pairs);
  const pids = (child: BenchChild) => ({
    server: child.pid,
    ...ctx.servicePids,
    engine: ctx.engine.pid,
  });
  try {
    ctx.log('messaging: warm-up');
    await closedLoop(parley.pairs, Math.min(1500, profile.closedLoopMs));
    await closedLoop(raw.pairs, Math.min(1500, profile.closedLoopMs));

    ctx.log(
      `messaging: closed loop, ${profile.pairs} pairs, ${profile.closedLoopMs} ms × ${profile.reps} each`,
    );
    const closed = await interleave<Measured<ClosedLoopResult>>(
      profile.reps,
      () => withCpu(pids(sides.parley), () => closedLoop(parley.pairs, profile.closedLoopMs)),
      () => withCpu(pids(sides.baseline), () => closedLoop(raw.pairs, profile.closedLoopMs)),
    );
    ctx.log(
      `messaging: open loop at ${profile.openLoopRate} msg/s, ${profile.openLoopMs} ms × ${profile.reps} each`,
    );
    const open = await interleave<Measured<OpenLoopResult>>(
      profile.reps,
      () =>
        withCpu(pids(sides.parley), () =>
          withLoopDelay(sides.parley, () =>
            openLoop(parley.pairs, profile.openLoopRate, profile.openLoopMs),
          ),
        ),
      () =>
        withCpu(pids(sides.baseline), () =>
          openLoop(raw.pairs, profile.openLoopRate, profile.openLoopMs),
        ),
    );
    return [throughputRow(ctx, closed), latencyRow(ctx, open)];
  } finally {
    disconnectAll(parley.sockets);
    disconnectAll(raw.sockets);
  }
}

interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Runs `fn` while the server records its own event-loop delay (`loopDelay` on the result). */
async function withLoopDelay<T>(
  child: BenchChild,
  fn: () => Promise<T>,
): Promise<T & { loopDelay?: LoopDelay }> {
  await child.call('loopDelayStart');
  const value = await fn();
  return { ...value, loopDelay: await child.call<LoopDelay>('loopDelayStop') };
}

function throughputRow(
  ctx: Context,
  closed: { a: Measured<ClosedLoopResult>[]; b: Measured<ClosedLoopResult>[] },
): RowResult {
  const m = compareRuns(
    closed,
    (v) => v.perSecond,
    (v) => v.delivered,
    { digits: 0 },
  );
  const errors = [...closed.a, ...closed.b].reduce((n, s) => n + s.value.errors, 0);
  return {
    id: 'messages-throughput',
    scenario: `1:1 messages, persisted, sender → receiver \`message_received\`: peak throughput (${ctx.profile.pairs} pairs, closed loop)`,
    unit: 'msg/s',
    ...m.reported,
    ratioNote: 'Parley msg/s ÷ raw relay msg/s',
    budget: '≥ 0.25× baseline',
    met: m.ratio >= 0.25 && errors === 0,
    details: { errors },
  };
}

function latencyRow(
  ctx: Context,
  open: { a: Measured<OpenLoopResult>[]; b: Measured<OpenLoopResult>[] },
): RowResult {
  const m = compareRuns(
    open,
    (v) => v.p99Ms,
    (v) => v.received,
    { digits: 2, ratioDigits: 2 },
  );
  const lost = open.a.reduce((n, s) => n + (s.value.sent - s.value.received), 0);
  const errors = open.a.reduce((n, s) => n + s.value.errors, 0);
  return {
    id: 'messages-latency',
    scenario: `1:1 messages: p99 latency at ${ctx.profile.openLoopRate.toLocaleString('en-US')} msg/s (open loop, ${ctx.profile.pairs} pairs)`,
    unit: 'ms p99',
    ...m.reported,
    ratioNote: 'Parley p99 ÷ raw relay p99 (lower is better)',
    budget: 'p99 ≤ 15 ms',
    met: m.parley <= 15 && lost === 0 && errors === 0,
    details: {
      p50Ms: medians(open, (v) => v.p50Ms, 2),
      p999Ms: medians(open, (v) => v.p999Ms, 2),
      maxMs: medians(open, (v) => v.maxMs, 1),
      // The api process's own event-loop delay during Parley's runs (the raw relay is not measured).
      loopDelayP99Ms: medians(open, (v) => loopDelayOf(v)?.p99Ms ?? 0, 2).parley,
      loopDelayMaxMs: medians(open, (v) => loopDelayOf(v)?.maxMs ?? 0, 1).parley,
      lost,
      errors,
    },
  };
}

function loopDelayOf(v: OpenLoopResult): LoopDelay | undefined {
  return (v as { loopDelay?: LoopDelay }).loopDelay;
}

interface IdleSample {
  heapPerSocket: number;
  rssPerSocket: number;
  connectMs: number;
}

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
}

async function waitForCount(child: BenchChild, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await child.call<{ count: number }>('sockets')).count !== count) {
    if (Date.now() > deadline) throw new Error(`server never reached ${count} sockets`);
    await sleep(50);
  }
}

/** Connects `n` idle sockets, reads the server's memory after a full GC, disconnects them. */
async function idleOnce(
  child: BenchChild,
  auths: readonly ({ token: string } | { userId: string })[],
): Promise<IdleSample> {
  await waitForCount(child, 0);
  const before = await child.call<Mem>('memory');
  const started = Date.now();
  const sockets = await connectMany(child.url, auths, 50);
  const connectMs = Date.now() - started;
  await waitForCount(child, auths.length);
  await sleep(500); // presence bookkeeping after connect is asynchronous
  const after = await child.call<Mem>('memory');
  disconnectAll(sockets);
  await waitForCount(child, 0);
  const n = auths.length;
  return {
    heapPerSocket: (after.heapUsed + after.external - before.heapUsed - before.external) / n,
    rssPerSocket: (after.rss - before.rss) / n,
    connectMs,
  };
}

/** Row 2: memory per idle authenticated socket, against the raw server holding as many. */
export async function idleRow(
  ctx: Context,
  sides: RealtimeSides,
  fixtures: Fixtures,
): Promise<RowResult> {
  const n = ctx.profile.idleSockets;
  ctx.log(`idle sockets: seeding ${n} users with sessions`);
  const users = await fixtures.usersWithTokens(n);
  const parleyAuths = users.map((u) => ({ token: u.token }));
  const rawAuths = users.map((u) => ({ userId: u.userId }));
  ctx.log(`idle sockets: ${n} × ${ctx.profile.heavyReps} each`);
  const runs = await interleave(
    ctx.profile.heavyReps,
    () => idleOnce(sides.parley, parleyAuths),
    () => idleOnce(sides.baseline, rawAuths),
  );
  const p = runs.a.map((s) => s.heapPerSocket / 1024);
  const b = runs.b.map((s) => s.heapPerSocket / 1024);
  const ratio = median(p) / median(b);
  return {
    id: 'idle-sockets',
    scenario: `idle authenticated sockets (${n.toLocaleString('en-US')} to one api process)`,
    unit: 'KiB/socket',
    parley: round(median(p), 2),
    baseline: round(median(b), 2),
    ratio: round(ratio, 3),
    ratioNote: 'Parley KiB/socket ÷ raw server KiB/socket (V8 heap + external after full GC)',
    budget: '≤ 1.3× baseline',
    met: ratio <= 1.3,
    samples: { parley: p.map((x) => round(x, 2)), baseline: b.map((x) => round(x, 2)) },
    details: {
      rssKiBPerSocketFirstRun: {
        parley: round((runs.a[0]?.rssPerSocket ?? 0) / 1024, 2),
        baseline: round((runs.b[0]?.rssPerSocket ?? 0) / 1024, 2),
      },
      connectMs: {
        parley: median(runs.a.map((s) => s.connectMs)),
        baseline: median(runs.b.map((s) => s.connectMs)),
      },
    },
  };
}

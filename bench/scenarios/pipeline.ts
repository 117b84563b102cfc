import { randomUUID } from 'node:crypto';
import type { ObjectId } from 'mongodb';
import type { BenchChild } from '../lib/child.js';
import type { Fixtures } from '../lib/fixtures.js';
import { compareRuns, withCpu, type Measured } from '../lib/measure.js';
import { interleave, median, round } from '../lib/stats.js';
import type { Context, RowResult } from '../lib/types.js';

export interface PipelineSides {
  /** Parley with ROLE=worker: its services plan and queue, its consumer delivers. */
  parley: BenchChild;
  baseline: BenchChild;
}

interface Timed {
  ms: number;
  pairs?: number;
}

/** Row 5: plan for every active user, against bare insertMany of the same documents. */
export async function planRow(
  ctx: Context,
  sides: PipelineSides,
  fixtures: Fixtures,
  users: number,
): Promise<RowResult> {
  const pids = (child: BenchChild) => ({
    server: child.pid,
    ...ctx.servicePids,
    engine: ctx.engine.pid,
  });
  const window = {
    from: new Date().toISOString(),
    to: new Date(Date.now() + 86_400_000).toISOString(),
  };
  const once = (child: BenchChild, command: string) => async (): Promise<Measured<Timed>> => {
    await fixtures.resetPipeline();
    const args = { runId: randomUUID(), ...window, batchSize: 1000 };
    return withCpu(pids(child), () => child.call<Timed>(command, args));
  };
  ctx.log(`plan: ${users} users × ${ctx.profile.heavyReps} each`);
  const runs = await interleave(
    ctx.profile.heavyReps,
    once(sides.parley, 'plan'),
    once(sides.baseline, 'insertPlan'),
  );
  const pairs = Math.floor(users / 2);
  const m = compareRuns(
    runs,
    (v) => v.ms,
    () => pairs,
    { digits: 0, inverse: true },
  );
  // The ≤ 10 s budget is for 100,000 users; smaller runs are scaled linearly to that size.
  const projectedMs = (m.parley * 100_000) / users;
  return {
    id: 'nightly-plan',
    scenario: `nightly plan (${users.toLocaleString('en-US')} users → ${pairs.toLocaleString('en-US')} auto messages)`,
    unit: 'ms',
    ...m.reported,
    ratioNote: 'baseline ms ÷ Parley ms (= Parley docs/s ÷ insertMany docs/s)',
    budget: '≤ 10 s and ≥ 0.5× baseline',
    met: projectedMs <= 10_000 && m.ratio >= 0.5,
    details: { projectedMsFor100kUsers: round(projectedMs, 0) },
  };
}

interface Delivered {
  ms: number;
  queued?: number;
  queuedMs?: number;
}

/** Row 6: queue + deliver `count` due auto messages end to end, against raw publish + consume. */
export async function deliverRow(
  ctx: Context,
  sides: PipelineSides,
  fixtures: Fixtures,
  users: readonly ObjectId[],
  count: number,
): Promise<RowResult> {
  const pids = (child: BenchChild) => ({
    server: child.pid,
    ...ctx.servicePids,
    engine: ctx.engine.pid,
  });
  // Generous: a loaded machine has run this row at under 200 msg/s.
  const timeoutMs = Math.max(60_000, count * 10);
  const parleyOnce = async (): Promise<Measured<Delivered>> => {
    await fixtures.resetPipeline();
    await fixtures.dueAutoMessages(users, count, `seed-${randomUUID()}`);
    const measured = await withCpu(pids(sides.parley), () =>
      sides.parley.call<Delivered>('queueDeliver', { runId: randomUUID(), timeoutMs }),
    );
    const sent = await fixtures.mongo.db
      .collection('automessages')
      .countDocuments({ isSent: true });
    if (measured.value.queued !== count || sent !== count)
      throw new Error(`queue + deliver: queued ${measured.value.queued}, sent ${sent} of ${count}`);
    return measured;
  };
  const baselineOnce = (): Promise<Measured<Delivered>> =>
    withCpu(pids(sides.baseline), () =>
      sides.baseline.call<Delivered>('rabbit', { count, prefetch: 50, batchSize: 1000 }),
    );
  const reps = ctx.profile.deliverReps;
  ctx.log(`queue + deliver: ${count} messages × ${reps} each`);
  const runs = await interleave(reps, parleyOnce, baselineOnce);
  const perSecond = (v: Delivered) => (count * 1000) / v.ms;
  const m = compareRuns(runs, perSecond, () => count, { digits: 0 });
  return {
    id: 'queue-deliver',
    scenario: `queue + deliver (${count.toLocaleString('en-US')} due auto messages, end to end)`,
    unit: 'msg/s',
    ...m.reported,
    ratioNote: 'Parley msg/s ÷ raw confirmed publish + manual-ack consume msg/s',
    budget: '≥ 5,000 msg/s and ≥ 0.3× baseline',
    met: m.parley >= 5000 && m.ratio >= 0.3,
    details: { queuePhaseMs: round(median(runs.a.map((s) => s.value.queuedMs ?? 0)), 0) },
  };
}

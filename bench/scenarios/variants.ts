import type { Config } from '../../src/config.js';
import type { BenchChild } from '../lib/child.js';
import type { Fixtures } from '../lib/fixtures.js';
import { compareRuns, medians, withCpu, type Measured } from '../lib/measure.js';
import { withCoreBusy } from '../lib/proc.js';
import { closedLoop, disconnectAll, type ClosedLoopResult } from '../lib/sockets.js';
import { interleave } from '../lib/stats.js';
import type { Context, RowResult } from '../lib/types.js';
import { parleyPairs } from './realtime.js';

/** One configuration of Parley under load: its server, its database's fixtures, its engine. */
export interface Variant {
  parley: BenchChild;
  /** A worker beside the api (same database and queues), when the variant runs one. */
  worker?: BenchChild;
  fixtures: Fixtures;
  config: Readonly<Config>;
  enginePid: number;
}

/** What a variant row says about itself; the figures come from the run. */
export interface VariantSpec {
  id: string;
  scenario: string;
  ratioNote: string;
  minRatio: number;
}

type LoadedResult = ClosedLoopResult & { loadCpuMs: number; coreBusy: Record<string, number> };

/**
 * `run`, with this process's own CPU over it (the load generator's, read like every other
 * process's: `withCpu` on its pid) and how busy each core was.
 */
async function withLoadCpu(run: () => Promise<ClosedLoopResult>): Promise<LoadedResult> {
  const { value, cpu } = await withCpu({ bench: process.pid }, () => withCoreBusy(run));
  return { ...value.value, loadCpuMs: cpu.bench ?? 0, coreBusy: value.busy };
}

/**
 * Peak 1:1 message throughput of Parley with a feature on (`on`) against the same Parley with it
 * off (`off`), same load and pairs, measured alternately: what the feature costs chat.
 */
export async function variantThroughputRow(
  ctx: Context,
  spec: VariantSpec,
  on: Variant,
  off: Variant,
): Promise<RowResult> {
  const { profile } = ctx;
  const pairSet = async (v: Variant) =>
    parleyPairs(v.parley.url, v.fixtures, await v.fixtures.usersWithTokens(profile.pairs * 2));
  const [a, b] = [await pairSet(on), await pairSet(off)];
  const pids = (v: Variant) => ({
    server: v.parley.pid,
    ...(v.worker ? { worker: v.worker.pid } : {}),
    engine: v.enginePid,
    ...ctx.servicePids,
  });
  try {
    // A whole window each: after 1.5 s the first pair still ran 15–30 % below the later ones,
    // on both sides, in every run of Dec 1–2.
    ctx.log(`${spec.id}: warm-up`);
    await closedLoop(a.pairs, profile.closedLoopMs);
    await closedLoop(b.pairs, profile.closedLoopMs);
    ctx.log(
      `${spec.id}: closed loop, ${profile.pairs} pairs, ${profile.closedLoopMs} ms × ${profile.variantReps} each`,
    );
    const closed = await interleave<Measured<LoadedResult>>(
      profile.variantReps,
      () => withCpu(pids(on), () => withLoadCpu(() => closedLoop(a.pairs, profile.closedLoopMs))),
      () => withCpu(pids(off), () => withLoadCpu(() => closedLoop(b.pairs, profile.closedLoopMs))),
    );
    const m = compareRuns(
      closed,
      (v) => v.perSecond,
      (v) => v.delivered,
      { digits: 0 },
    );
    const errors = [...closed.a, ...closed.b].reduce((n, s) => n + s.value.errors, 0);
    return {
      id: spec.id,
      scenario: spec.scenario,
      unit: 'msg/s',
      ...m.reported,
      ratioNote: spec.ratioNote,
      budget: `≥ ${spec.minRatio}× off`,
      met: m.ratio >= spec.minRatio && errors === 0,
      details: {
        errors,
        // The load generator shares the machine's cores with both sides: what it spends per
        // message is part of what the closed loop is bound by.
        loadGeneratorCpuMsPerMsg: medians(closed, (v) => v.loadCpuMs / Math.max(1, v.delivered), 4),
        // Servers are pinned to some cores, the load generator to another: which one ran full.
        coreBusy: Object.fromEntries(
          Object.keys(closed.a[0]?.value.coreBusy ?? {}).map((core) => [
            core,
            medians(closed, (v) => v.coreBusy[core] ?? 0, 2),
          ]),
        ),
      },
    };
  } finally {
    disconnectAll(a.sockets);
    disconnectAll(b.sockets);
  }
}

import { CpuMeter } from './proc.js';
import type { RowResult } from './types.js';
import { median, round } from './stats.js';

export interface Measured<T> {
  value: T;
  /** CPU ms per process over the measurement. */
  cpu: Record<string, number>;
}

export async function withCpu<T>(
  pids: Readonly<Record<string, number>>,
  fn: () => Promise<T>,
): Promise<Measured<T>> {
  const meter = new CpuMeter(pids).start();
  const value = await fn();
  return { value, cpu: meter.stop() };
}

/** Median CPU ms per operation, per process and in total, over several measurements. */
export function cpuPerOp<T>(
  samples: readonly Measured<T>[],
  opsOf: (value: T) => number,
): { total: number; byProcess: Record<string, number> } {
  const names = Object.keys(samples[0]?.cpu ?? {});
  const byProcess: Record<string, number> = {};
  for (const name of names)
    byProcess[name] = round(
      median(samples.map((s) => (s.cpu[name] ?? 0) / Math.max(1, opsOf(s.value)))),
      4,
    );
  const total = round(
    median(
      samples.map(
        (s) => Object.values(s.cpu).reduce((a, b) => a + b, 0) / Math.max(1, opsOf(s.value)),
      ),
    ),
    4,
  );
  return { total, byProcess };
}

/** Each side's median of one figure (rounded to `digits` if given): a row's detail lines. */
export function medians<T>(
  runs: { a: readonly Measured<T>[]; b: readonly Measured<T>[] },
  figure: (value: T) => number,
  digits?: number,
): { parley: number; baseline: number } {
  const of = (side: readonly Measured<T>[]) => {
    const m = median(side.map((s) => figure(s.value)));
    return digits === undefined ? m : round(m, digits);
  };
  return { parley: of(runs.a), baseline: of(runs.b) };
}

/** A row's measured figures: unrounded for its budget, rounded as the report shows them. */
export interface Comparison {
  parley: number;
  baseline: number;
  ratio: number;
  reported: Pick<
    RowResult,
    'parley' | 'baseline' | 'ratio' | 'ratioRange' | 'samples' | 'cpuMsPerOp'
  >;
}

/**
 * What every row reports of its A/B runs: each side's samples (`figure` of each measurement)
 * and median, their ratio, and server CPU per operation (`opsOf` counts a measurement's ops).
 * The ratio is Parley ÷ baseline unless `inverse` (baseline ÷ Parley, for times). With two or
 * more pairs (`interleave`) it is the median of each pair's own ratio, not the ratio of the two
 * medians: a pair runs back to back on the same machine, while this VM's speed drifts by 20 %
 * and more between pairs, so a pair's ratio carries less of that drift. `ratioRange`, with three
 * or more pairs, is the lowest and highest pair ratio: the spread to expect from a rerun.
 */
export function compareRuns<T>(
  runs: { a: readonly Measured<T>[]; b: readonly Measured<T>[] },
  figure: (value: T) => number,
  opsOf: (value: T) => number,
  options: { digits: number; ratioDigits?: number; inverse?: boolean },
): Comparison {
  const p = runs.a.map((s) => figure(s.value));
  const b = runs.b.map((s) => figure(s.value));
  const [parley, baseline] = [median(p), median(b)];
  const ratioOf = (x: number, y: number) => (options.inverse ? y / x : x / y);
  const paired = p.length >= 2 && p.length === b.length;
  const pairRatios = paired ? p.map((x, i) => ratioOf(x, b[i] as number)) : [];
  const ratio = paired ? median(pairRatios) : ratioOf(parley, baseline);
  const ratioDigits = options.ratioDigits ?? 3;
  const pCpu = cpuPerOp(runs.a, opsOf);
  const bCpu = cpuPerOp(runs.b, opsOf);
  const shown = (x: number) => round(x, options.digits);
  return {
    parley,
    baseline,
    ratio,
    reported: {
      parley: shown(parley),
      baseline: shown(baseline),
      ratio: round(ratio, ratioDigits),
      ...(pairRatios.length >= 3
        ? {
            ratioRange: [
              round(Math.min(...pairRatios), ratioDigits),
              round(Math.max(...pairRatios), ratioDigits),
            ] as [number, number],
          }
        : {}),
      samples: { parley: p.map(shown), baseline: b.map(shown) },
      cpuMsPerOp: {
        parley: pCpu.total,
        baseline: bCpu.total,
        breakdown: { parley: pCpu.byProcess, baseline: bCpu.byProcess },
      },
    },
  };
}

import { CpuMeter } from './proc.js';
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

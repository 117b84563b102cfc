/** Small numeric helpers shared by every scenario. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Rounds to `digits` significant decimals without trailing noise. */
export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `a` and `b` in pairs, `reps` pairs, the order swapping each time (A B, B A, A B…), so
 * drift on a shared machine hits both sides alike and neither always goes first. Returns every
 * sample of each side, indexed by pair.
 */
export async function interleave<T>(
  reps: number,
  a: (rep: number) => Promise<T>,
  b: (rep: number) => Promise<T>,
): Promise<{ a: T[]; b: T[] }> {
  const out: { a: T[]; b: T[] } = { a: [], b: [] };
  for (let rep = 0; rep < reps; rep += 1) {
    if (rep % 2 === 0) {
      out.a.push(await a(rep));
      out.b.push(await b(rep));
    } else {
      out.b.push(await b(rep));
      out.a.push(await a(rep));
    }
  }
  return out;
}

/** Median of one numeric field over samples. */
export function medianOf<T>(samples: readonly T[], pick: (s: T) => number): number {
  return median(samples.map(pick));
}

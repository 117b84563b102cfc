/** The search benches' message corpus: the same sentences in every run. */

/** Deterministic pseudo-random numbers (mulberry32): every run searches the same corpus. */
export function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMON = `hello thanks meeting tomorrow coffee lunch project update call later tonight
  please review message sending running photos weekend travel İstanbul flight ticket office
  günaydın teşekkürler görüşürüz yarın toplantı kahve akşam`.split(/\s+/);
const TAIL = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}ing`);

/** A message of 4–16 words: Zipf-like picks from 30 common words and a 20,000-word tail. */
export function sentence(rnd: () => number): string {
  const word = () =>
    rnd() < 0.5
      ? (COMMON[Math.floor(rnd() * rnd() * COMMON.length)] as string)
      : (TAIL[Math.floor(rnd() * rnd() * TAIL.length)] as string);
  return Array.from({ length: 4 + Math.floor(rnd() * 13) }, word).join(' ');
}

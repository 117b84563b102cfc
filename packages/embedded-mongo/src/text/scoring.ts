/**
 * MongoDB's text score for one string value (fts_spec.cpp, text index version 3), added into
 * `into` per term: the k-th occurrence of a term adds 1/2^(k-1), the sum is scaled by how much
 * of the value the term makes up (0.5 + 0.5 · count / tokens) and by the field's weight, and a
 * value that is exactly the term gets a 10% bonus. A document's score for a query is the sum of
 * its scores for the query's distinct terms.
 */
export function addValueScores(
  raw: string,
  terms: readonly string[],
  weight: number,
  into: Map<string, number>,
): void {
  const counts = new Map<string, number>();
  for (const t of terms) counts.set(t, (counts.get(t) ?? 0) + 1);
  addCountedScores(raw, counts, terms.length, weight, into, (t) => t);
}

/**
 * `addValueScores` from counts (`tokens` = all counts added up), keyed by terms or by anything
 * `termOf` turns into its term (the index build keys by posting).
 */
export function addCountedScores<T>(
  raw: string,
  counts: ReadonlyMap<T, number>,
  tokens: number,
  weight: number,
  into: Map<T, number>,
  termOf: (key: T) => string,
): void {
  for (const [key, count] of counts) {
    const term = termOf(key);
    const freq = 2 - Math.pow(2, 1 - count);
    const coeff = (0.5 * count) / tokens + 0.5;
    const adjustment = raw.length === term.length && raw.toLowerCase() === term ? 1.1 : 1;
    into.set(key, (into.get(key) ?? 0) + weight * freq * coeff * adjustment);
  }
}

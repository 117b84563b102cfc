/** The two user ids sorted: one key per pair, whoever opens the direct conversation. */
export function directKeyOf(a: string, b: string): string {
  return [a, b].sort().join(':');
}

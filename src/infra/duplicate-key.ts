/** Reading the driver's duplicate-key errors (code 11000): unique indexes turned into outcomes. */

export function isDuplicateKeyError(
  error: unknown,
): error is { code: 11000; keyPattern?: Record<string, unknown> } {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000
  );
}

/** The first field of the unique index a duplicate-key error names, e.g. `email`. */
export function duplicateKeyField(error: {
  keyPattern?: Record<string, unknown>;
}): string | undefined {
  return Object.keys(error.keyPattern ?? {})[0];
}

/**
 * Positions of the documents an unordered insertMany/bulkWrite refused as duplicates. Empty when
 * the error is anything else (the caller rethrows).
 */
export function duplicateIndexes(error: unknown): number[] {
  const writeErrors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  const indexes: number[] = [];
  for (const e of list as {
    code?: unknown;
    index?: unknown;
    err?: { code?: unknown; index?: unknown };
  }[]) {
    const code = e.code ?? e.err?.code;
    const index = e.index ?? e.err?.index;
    if (code !== 11000 || typeof index !== 'number') return [];
    indexes.push(index);
  }
  return indexes;
}

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
  const refused = refusedDocuments(error);
  if (!refused) return [];
  const indexes: number[] = [];
  for (const [index, { code }] of refused) {
    if (code !== 11000) return [];
    indexes.push(index);
  }
  return indexes;
}

/** Why the server refused one document of a bulk write. */
export interface RefusedDocument {
  code: unknown;
  message: string;
}

/**
 * The documents an unordered insertMany/bulkWrite refused, by position, each with its own
 * reason; null when the error is not a per-document refusal (the whole write failed).
 */
export function refusedDocuments(error: unknown): Map<number, RefusedDocument> | null {
  const writeErrors = (error as { writeErrors?: unknown } | null)?.writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  if (list.length === 0) return null;
  const refused = new Map<number, RefusedDocument>();
  for (const e of list as {
    code?: unknown;
    index?: unknown;
    errmsg?: unknown;
    err?: { code?: unknown; index?: unknown; errmsg?: unknown };
  }[]) {
    const index = e.index ?? e.err?.index;
    if (typeof index !== 'number') return null;
    const message = e.errmsg ?? e.err?.errmsg;
    refused.set(index, {
      code: e.code ?? e.err?.code,
      message: typeof message === 'string' ? message : 'write refused',
    });
  }
  return refused;
}

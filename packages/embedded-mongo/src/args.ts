import type { EngineLogger } from './logger.js';
import { isPlainObject } from './bson-values.js';
import { MongoCommandError } from './errors.js';
import type { Doc } from './key-index.js';
import type { Store } from './store.js';

/** Everything a command handler sees; handlers run synchronously start to finish. */
export interface CommandContext {
  store: Store;
  db: string;
  name: string;
  cmd: Doc;
  connectionId: number;
  logger: EngineLogger;
}

export type Handler = (ctx: CommandContext) => Doc;

function bsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Date) return 'date';
  if (isPlainObject(v)) return 'object';
  return typeof v;
}

function mismatch(
  ctx: CommandContext,
  field: string,
  value: unknown,
  expected: string,
): MongoCommandError {
  return new MongoCommandError(
    'TypeMismatch',
    `BSON field '${ctx.name}.${field}' is the wrong type '${bsonTypeName(value)}', expected type '${expected}'`,
  );
}

/** The collection named by the command's first field. */
export function collectionName(ctx: CommandContext): string {
  const value = ctx.cmd[ctx.name];
  if (typeof value !== 'string' || value.length === 0) {
    throw new MongoCommandError(
      'InvalidNamespace',
      `collection name has invalid type ${bsonTypeName(value)}`,
    );
  }
  return value;
}

export function optDoc(ctx: CommandContext, field: string): Doc | undefined {
  const v = ctx.cmd[field];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw mismatch(ctx, field, v, 'object');
  return v;
}

/** Numbers arrive as JS numbers or (for large values) bson Long. */
export function toNumberLike(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && 'toNumber' in v && typeof v.toNumber === 'function') {
    return (v as { toNumber(): number }).toNumber();
  }
  return undefined;
}

export function optNum(ctx: CommandContext, field: string): number | undefined {
  const v = ctx.cmd[field];
  if (v === undefined || v === null) return undefined;
  const n = toNumberLike(v);
  if (n === undefined) throw mismatch(ctx, field, v, 'long');
  return n;
}

export function optNonNegative(ctx: CommandContext, field: string): number | undefined {
  const n = optNum(ctx, field);
  if (n !== undefined && n < 0) {
    throw new MongoCommandError(
      'BadValue',
      `${field} value must be non-negative, but received: ${n}`,
    );
  }
  return n;
}

export function optBool(ctx: CommandContext, field: string): boolean | undefined {
  const v = ctx.cmd[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw mismatch(ctx, field, v, 'bool');
}

export function docArray(ctx: CommandContext, field: string): Doc[] {
  const v = ctx.cmd[field];
  if (!Array.isArray(v)) throw mismatch(ctx, field, v, 'array');
  v.forEach((item, i) => {
    if (!isPlainObject(item)) throw mismatch(ctx, `${field}.${i}`, item, 'object');
  });
  return v as Doc[];
}

/** Checks a field of a sub-document (an update or delete statement). */
export function subDoc(
  ctx: CommandContext,
  parent: string,
  doc: Doc,
  field: string,
): Doc | undefined {
  const v = doc[field];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw mismatch(ctx, `${parent}.${field}`, v, 'object');
  return v;
}

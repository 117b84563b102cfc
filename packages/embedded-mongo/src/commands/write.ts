import {
  collectionName,
  docArray,
  optBool,
  subDoc,
  toNumberLike,
  type CommandContext,
  type Handler,
} from '../args.js';
import { isPlainObject } from '../bson-values.js';
import type { Collection } from '../collection.js';
import { MongoCommandError, toCommandError } from '../errors.js';
import type { Doc } from '../key-index.js';
import { runQuery } from '../query.js';
import { applyUpdate, buildUpsert, classifyUpdate } from '../update-ops.js';

interface WriteError {
  index: number;
  code: number;
  errmsg: string;
  [extra: string]: unknown;
}

/** Runs each statement; ordered writes stop at the first error, unordered ones collect all. */
function runStatements<T>(
  ctx: CommandContext,
  items: T[],
  run: (item: T, index: number) => void,
): WriteError[] {
  const ordered = optBool(ctx, 'ordered') ?? true;
  const errors: WriteError[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      run(items[i] as T, i);
    } catch (err) {
      const e = toCommandError(err);
      errors.push({ index: i, code: e.code, errmsg: e.message, ...e.extra });
      if (ordered) break;
    }
  }
  return errors;
}

function withErrors(reply: Doc, errors: WriteError[]): Doc {
  return errors.length > 0 ? { ...reply, writeErrors: errors, ok: 1 } : { ...reply, ok: 1 };
}

function insert(ctx: CommandContext): Doc {
  const name = collectionName(ctx);
  const documents = docArray(ctx, 'documents');
  const coll = ctx.store.ensureCollection(ctx.db, name);
  let n = 0;
  const errors = runStatements(ctx, documents, (doc) => {
    coll.insert(doc);
    n++;
  });
  return withErrors({ n }, errors);
}

export interface UpdateResult {
  n: number;
  nModified: number;
  upsertedId?: unknown;
}

/** One update statement, shared by `update` and `findAndModify`-style callers. */
export function updateStatement(
  ctx: CommandContext,
  name: string,
  stmt: Doc,
  parent: string,
): UpdateResult {
  const q = subDoc(ctx, parent, stmt, 'q') ?? {};
  const u = stmt.u;
  const multi = stmt.multi === true;
  const kind = classifyUpdate(u);
  if (multi && kind === 'replacement') {
    throw new MongoCommandError(
      'FailedToParse',
      'multi update is not supported for replacement-style update',
    );
  }
  const arrayFilters = Array.isArray(stmt.arrayFilters) ? (stmt.arrayFilters as Doc[]) : undefined;
  const coll = ctx.store.collection(ctx.db, name);
  const matches = runQuery(coll, { filter: q, limit: multi ? 0 : 1 });
  if (matches.length === 0) {
    if (stmt.upsert !== true) return { n: 0, nModified: 0 };
    const inserted = ctx.store
      .ensureCollection(ctx.db, name)
      .insert(buildUpsert(q, u as Doc, arrayFilters));
    return { n: 1, nModified: 0, upsertedId: inserted._id };
  }
  let nModified = 0;
  for (const doc of matches) {
    const outcome = applyUpdate(doc, u as Doc, { arrayFilters, query: q, isInsert: false });
    if (!outcome.changed) continue;
    (coll as Collection).replace(doc, outcome.doc, outcome.touched);
    nModified++;
  }
  return { n: matches.length, nModified };
}

function update(ctx: CommandContext): Doc {
  const name = collectionName(ctx);
  const updates = docArray(ctx, 'updates');
  let n = 0;
  let nModified = 0;
  const upserted: Doc[] = [];
  const errors = runStatements(ctx, updates, (stmt, index) => {
    const r = updateStatement(ctx, name, stmt, `updates.${index}`);
    n += r.n;
    nModified += r.nModified;
    if (r.upsertedId !== undefined) upserted.push({ index, _id: r.upsertedId });
  });
  return withErrors(upserted.length > 0 ? { n, nModified, upserted } : { n, nModified }, errors);
}

function deleteCommand(ctx: CommandContext): Doc {
  const name = collectionName(ctx);
  const deletes = docArray(ctx, 'deletes');
  let n = 0;
  const errors = runStatements(ctx, deletes, (stmt, index) => {
    const q = subDoc(ctx, `deletes.${index}`, stmt, 'q');
    if (!q)
      throw new MongoCommandError(
        'FailedToParse',
        "BSON field 'delete.deletes.q' is missing but a required field",
      );
    const limit = toNumberLike(stmt.limit) ?? 0;
    if (limit !== 0 && limit !== 1) {
      throw new MongoCommandError(
        'FailedToParse',
        `The limit field in delete objects must be 0 or 1. Got ${limit}`,
      );
    }
    const coll = ctx.store.collection(ctx.db, name);
    for (const doc of runQuery(coll, { filter: q, limit })) {
      coll?.remove(doc);
      n++;
    }
  });
  return withErrors({ n }, errors);
}

export const writeCommands: Record<string, Handler> = {
  insert,
  update,
  delete: deleteCommand,
};

export function requireDoc(value: unknown, what: string): Doc {
  if (!isPlainObject(value))
    throw new MongoCommandError('TypeMismatch', `${what} must be an object`);
  return value;
}

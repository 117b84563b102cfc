import { collectionName, optBool, optDoc, type CommandContext, type Handler } from '../args.js';
import { MongoCommandError } from '../errors.js';
import type { Doc } from '../key-index.js';
import { parseSort, project, runQuery } from '../query.js';
import { applyUpdate, buildUpsert } from '../update-ops.js';

function reply(value: Doc | null, lastErrorObject: Doc, fields: Doc | undefined, query: Doc): Doc {
  const shown = value === null ? null : (project([value], fields, query)[0] ?? null);
  return { lastErrorObject, value: shown, ok: 1 };
}

/** findOneAndUpdate / findOneAndReplace / findOneAndDelete: find, change and return in one step. */
function findAndModify(ctx: CommandContext): Doc {
  const name = collectionName(ctx);
  const query = optDoc(ctx, 'query') ?? {};
  const sort = parseSort(ctx.cmd.sort);
  const fields = optDoc(ctx, 'fields');
  const remove = optBool(ctx, 'remove') ?? false;
  const returnNew = optBool(ctx, 'new') ?? false;
  const upsert = optBool(ctx, 'upsert') ?? false;
  const u = ctx.cmd.update as Doc | Doc[] | undefined;
  if (remove === (u !== undefined)) {
    throw new MongoCommandError(
      'FailedToParse',
      'Either an update or remove=true must be specified',
    );
  }
  const arrayFilters = Array.isArray(ctx.cmd.arrayFilters)
    ? (ctx.cmd.arrayFilters as Doc[])
    : undefined;
  const coll = ctx.store.collection(ctx.db, name);
  const found = runQuery(coll, { filter: query, sort, limit: 1 })[0];
  if (remove) {
    if (found) coll?.remove(found);
    return reply(found ?? null, { n: found ? 1 : 0 }, fields, query);
  }
  if (!found) {
    if (!upsert) return reply(null, { n: 0, updatedExisting: false }, fields, query);
    const doc = ctx.store
      .ensureCollection(ctx.db, name)
      .insert(buildUpsert(query, u as Doc, arrayFilters));
    const lastErrorObject = { n: 1, updatedExisting: false, upserted: doc._id };
    return reply(returnNew ? doc : null, lastErrorObject, fields, query);
  }
  const outcome = applyUpdate(found, u as Doc, { arrayFilters, query, isInsert: false });
  if (outcome.changed) coll?.replace(found, outcome.doc, outcome.touched);
  return reply(returnNew ? outcome.doc : found, { n: 1, updatedExisting: true }, fields, query);
}

export const findAndModifyCommands: Record<string, Handler> = {
  findAndModify,
  findandmodify: findAndModify,
};

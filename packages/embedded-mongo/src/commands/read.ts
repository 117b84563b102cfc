import { Aggregator } from 'mingo';
import {
  collectionName,
  optBool,
  optDoc,
  optNonNegative,
  optNum,
  toNumberLike,
  type CommandContext,
  type Handler,
} from '../args.js';
import { cloneDeep, compareValues, isPlainObject, pathValues } from '../bson-values.js';
import { MongoCommandError } from '../errors.js';
import type { Doc } from '../key-index.js';
import { parseSort, project, runQuery } from '../query.js';
import { hasTextOperator, scoredPipeline } from '../text/text-query.js';
import { textTopK } from '../text/text-top-k.js';

function cursorReply(
  ctx: CommandContext,
  ns: string,
  docs: Doc[],
  batchSize: number | undefined,
  single = false,
): Doc {
  const c = ctx.store.cursors.create(ns, docs, batchSize, single);
  return { cursor: { firstBatch: c.batch, id: c.id, ns }, ok: 1 };
}

function find(ctx: CommandContext): Doc {
  const name = collectionName(ctx);
  const filter = optDoc(ctx, 'filter') ?? {};
  const projection = optDoc(ctx, 'projection');
  const rawLimit = optNum(ctx, 'limit') ?? 0;
  const singleBatch = (optBool(ctx, 'singleBatch') ?? false) || rawLimit < 0;
  const scores = hasTextOperator(filter) ? new Map<Doc, number>() : undefined;
  const docs = runQuery(ctx.store.collection(ctx.db, name), {
    filter,
    sort: parseSort(ctx.cmd.sort),
    skip: optNonNegative(ctx, 'skip'),
    limit: Math.abs(rawLimit),
    scores,
  });
  const batchSize = optNonNegative(ctx, 'batchSize');
  return cursorReply(
    ctx,
    `${ctx.db}.${name}`,
    project(docs, projection, filter, scores),
    batchSize,
    singleBatch,
  );
}

function getMore(ctx: CommandContext): Doc {
  const id = toNumberLike(ctx.cmd.getMore);
  if (id === undefined)
    throw new MongoCommandError(
      'TypeMismatch',
      "BSON field 'getMore.getMore' is the wrong type, expected type 'long'",
    );
  const c = ctx.store.cursors.getMore(id, optNonNegative(ctx, 'batchSize'));
  if (!c) throw new MongoCommandError('CursorNotFound', `cursor id ${id} not found`);
  return { cursor: { nextBatch: c.batch, id: c.id, ns: c.ns }, ok: 1 };
}

function killCursors(ctx: CommandContext): Doc {
  collectionName(ctx);
  const ids = Array.isArray(ctx.cmd.cursors) ? ctx.cmd.cursors : [];
  const killed: unknown[] = [];
  const notFound: unknown[] = [];
  for (const raw of ids) {
    const id = toNumberLike(raw);
    (id !== undefined && ctx.store.cursors.kill(id) ? killed : notFound).push(raw);
  }
  return {
    cursorsKilled: killed,
    cursorsNotFound: notFound,
    cursorsAlive: [],
    cursorsUnknown: [],
    ok: 1,
  };
}

function count(ctx: CommandContext): Doc {
  const name = collectionName(ctx);
  const docs = runQuery(ctx.store.collection(ctx.db, name), {
    filter: optDoc(ctx, 'query') ?? {},
    skip: optNonNegative(ctx, 'skip'),
    limit: Math.abs(optNum(ctx, 'limit') ?? 0),
  });
  return { n: docs.length, ok: 1 };
}

function distinct(ctx: CommandContext): Doc {
  const name = collectionName(ctx);
  const key = ctx.cmd.key;
  if (typeof key !== 'string')
    throw new MongoCommandError(
      'TypeMismatch',
      "BSON field 'distinct.key' is the wrong type, expected type 'string'",
    );
  const docs = runQuery(ctx.store.collection(ctx.db, name), { filter: optDoc(ctx, 'query') ?? {} });
  const values: unknown[] = [];
  for (const doc of docs) {
    for (const v of pathValues(doc, key)) {
      if (v !== undefined && !values.some((x) => compareValues(x, v) === 0)) values.push(v);
    }
  }
  values.sort(compareValues);
  return { values, ok: 1 };
}

/** Runs a leading $match (and a following $sort/$limit) through the index planner, the rest in mingo. */
function aggregateSource(
  ctx: CommandContext,
  name: string,
  pipeline: Doc[],
): { docs: Doc[]; rest: Doc[]; scores?: Map<Doc, number> } {
  const coll = ctx.store.collection(ctx.db, name);
  const ranked = textTopK(coll, pipeline);
  if (ranked) return ranked;
  const first = pipeline[0];
  if (!first || !isPlainObject(first.$match))
    return { docs: runQuery(coll, { filter: {} }), rest: pipeline };
  let used = 1;
  const sortStage = pipeline[1]?.$sort;
  const sort = isPlainObject(sortStage) ? parseSort(sortStage) : [];
  if (sort.length > 0) used = 2;
  const limitStage = sort.length > 0 ? toNumberLike(pipeline[2]?.$limit) : undefined;
  if (limitStage !== undefined) used = 3;
  const scores = hasTextOperator(first.$match) ? new Map<Doc, number>() : undefined;
  const docs = runQuery(coll, { filter: first.$match, sort, limit: limitStage ?? 0, scores });
  return { docs, rest: pipeline.slice(used), scores };
}

function aggregate(ctx: CommandContext): Doc {
  const target = ctx.cmd.aggregate;
  if (!Array.isArray(ctx.cmd.pipeline))
    throw new MongoCommandError(
      'TypeMismatch',
      "BSON field 'aggregate.pipeline' is the wrong type, expected type 'array'",
    );
  const pipeline = ctx.cmd.pipeline as Doc[];
  if (pipeline.some((s) => '$out' in s || '$merge' in s)) {
    throw new MongoCommandError(
      'BadValue',
      '$out and $merge are not supported by the embedded engine',
    );
  }
  const name = target === 1 ? '$cmd.aggregate' : collectionName(ctx);
  const { docs, rest, scores } =
    target === 1 ? { docs: [], rest: pipeline } : aggregateSource(ctx, name, pipeline);
  const collectionResolver = (other: string): Doc[] =>
    runQuery(ctx.store.collection(ctx.db, other), { filter: {} }).map((d) => cloneDeep(d));
  const scored = scoredPipeline(rest, docs, scores);
  const input = rest.length > 0 ? scored.input.map((d) => cloneDeep(d)) : docs;
  const out =
    rest.length > 0
      ? scored.finish(new Aggregator(scored.stages, { collectionResolver }).run<Doc>(input))
      : input;
  const batchSize = toNumberLike(optDoc(ctx, 'cursor')?.batchSize);
  return cursorReply(ctx, `${ctx.db}.${name}`, out, batchSize);
}

export const readCommands: Record<string, Handler> = {
  find,
  getMore,
  killCursors,
  count,
  distinct,
  aggregate,
};

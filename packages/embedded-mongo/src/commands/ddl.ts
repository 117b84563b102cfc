import { Query } from 'mingo';
import { collectionName, docArray, optDoc, type CommandContext, type Handler } from '../args.js';
import { compareValues, isPlainObject } from '../bson-values.js';
import type { Collection } from '../collection.js';
import { MongoCommandError } from '../errors.js';
import type { Doc, IndexSpec } from '../key-index.js';
import { defaultIndexName } from '../index-name.js';
import { isTextKey, parseTextIndexSpec } from '../text/text-spec.js';

const ID_INDEX_INFO = { v: 2, key: { _id: 1 }, name: '_id_' };

function cursorOf(ctx: CommandContext, ns: string, docs: Doc[]): Doc {
  const batchSize = optDoc(ctx, 'cursor')?.batchSize;
  const c = ctx.store.cursors.create(
    ns,
    docs,
    typeof batchSize === 'number' ? batchSize : undefined,
  );
  return { cursor: { firstBatch: c.batch, id: c.id, ns }, ok: 1 };
}

function create(ctx: CommandContext): Doc {
  const name = collectionName(ctx);
  if (ctx.store.collection(ctx.db, name)) {
    throw new MongoCommandError('NamespaceExists', `Collection ${ctx.db}.${name} already exists.`);
  }
  ctx.store.ensureCollection(ctx.db, name);
  return { ok: 1 };
}

function drop(ctx: CommandContext): Doc {
  const name = collectionName(ctx);
  const coll = ctx.store.dropCollection(ctx.db, name);
  return coll ? { nIndexesWas: coll.indexes.size, ns: coll.ns, ok: 1 } : { ok: 1 };
}

function listCollections(ctx: CommandContext): Doc {
  const filter = optDoc(ctx, 'filter') ?? {};
  const nameOnly = ctx.cmd.nameOnly === true;
  const infos = ctx.store.collections(ctx.db).map((c) =>
    nameOnly
      ? { name: c.name, type: 'collection' }
      : {
          name: c.name,
          type: 'collection',
          options: {},
          info: { readOnly: false },
          idIndex: ID_INDEX_INFO,
        },
  );
  const query = new Query(filter);
  return cursorOf(
    ctx,
    `${ctx.db}.$cmd.listCollections`,
    infos.filter((i) => query.test(i)),
  );
}

function indexInfo(spec: IndexSpec): Doc {
  return { v: 2, ...spec };
}

/** Normalises a requested index, keeping only the options the engine understands. */
function parseIndexSpec(raw: Doc): IndexSpec {
  const key = raw.key;
  if (!isPlainObject(key) || Object.keys(key).length === 0) {
    throw new MongoCommandError('FailedToParse', "The 'key' field must be a non-empty object");
  }
  if (isTextKey(key)) return parseTextIndexSpec(raw, key);
  for (const [field, dir] of Object.entries(key)) {
    if (dir !== 1 && dir !== -1)
      throw new MongoCommandError(
        'BadValue',
        `Index key '${field}' must be 1 or -1 (got ${String(dir)}); special index types other than 'text' are not supported`,
      );
  }
  const name = defaultIndexName(raw, key);
  const spec: IndexSpec = { key: key as Record<string, number>, name };
  if (raw.unique === true) spec.unique = true;
  if (raw.sparse === true) spec.sparse = true;
  if (isPlainObject(raw.partialFilterExpression))
    spec.partialFilterExpression = raw.partialFilterExpression;
  if (typeof raw.expireAfterSeconds === 'number') spec.expireAfterSeconds = raw.expireAfterSeconds;
  return spec;
}

function sameSpec(a: IndexSpec, b: IndexSpec): boolean {
  return compareValues({ ...a }, { ...b }) === 0;
}

/** Returns true when the index must be created, false when an identical one exists. */
function checkConflicts(coll: Collection, spec: IndexSpec): boolean {
  for (const existing of coll.indexes.values()) {
    const e = existing.spec;
    const sameKey = compareValues(e.key, spec.key) === 0;
    if (e.name === spec.name) {
      if (sameSpec(e, spec) || (spec.name === '_id_' && sameKey)) return false;
      throw new MongoCommandError(
        'IndexKeySpecsConflict',
        `An existing index has the same name as the requested index but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(e)}`,
      );
    }
    if (sameKey) {
      const { name: _a, ...optsA } = e;
      const { name: _b, ...optsB } = spec;
      throw new MongoCommandError(
        'IndexOptionsConflict',
        sameSpec(optsA as IndexSpec, optsB as IndexSpec)
          ? `Index already exists with a different name: ${e.name}`
          : `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(e)}`,
      );
    }
  }
  return true;
}

function createIndexes(ctx: CommandContext): Doc {
  const name = collectionName(ctx);
  const specs = docArray(ctx, 'indexes').map(parseIndexSpec);
  const existed = ctx.store.collection(ctx.db, name) !== undefined;
  const coll = ctx.store.ensureCollection(ctx.db, name);
  const before = coll.indexes.size;
  for (const spec of specs) if (checkConflicts(coll, spec)) coll.addIndex(spec);
  const reply: Doc = {
    numIndexesBefore: before,
    numIndexesAfter: coll.indexes.size,
    createdCollectionAutomatically: !existed,
    ok: 1,
  };
  if (before === coll.indexes.size) reply.note = 'all indexes already exist';
  return reply;
}

function requireCollection(ctx: CommandContext): Collection {
  const name = collectionName(ctx);
  const coll = ctx.store.collection(ctx.db, name);
  if (!coll)
    throw new MongoCommandError('NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`);
  return coll;
}

function listIndexes(ctx: CommandContext): Doc {
  const coll = requireCollection(ctx);
  return cursorOf(
    ctx,
    coll.ns,
    [...coll.indexes.values()].map((i) => indexInfo(i.spec)),
  );
}

function indexNamesToDrop(coll: Collection, target: unknown): string[] {
  if (target === '*') return [...coll.indexes.keys()].filter((n) => n !== '_id_');
  const wanted = Array.isArray(target) ? target : [target];
  return wanted.map((t) => {
    const found = [...coll.indexes.values()].find((i) =>
      typeof t === 'string' ? i.spec.name === t : compareValues(i.spec.key, t) === 0,
    );
    if (!found)
      throw new MongoCommandError(
        'IndexNotFound',
        `index not found with name [${typeof t === 'string' ? t : JSON.stringify(t)}]`,
      );
    if (found.spec.name === '_id_')
      throw new MongoCommandError('InvalidOptions', 'cannot drop _id index');
    return found.spec.name;
  });
}

function dropIndexes(ctx: CommandContext): Doc {
  const coll = requireCollection(ctx);
  const before = coll.indexes.size;
  for (const name of indexNamesToDrop(coll, ctx.cmd.index)) coll.dropIndex(name);
  return { nIndexesWas: before, ok: 1 };
}

export const ddlCommands: Record<string, Handler> = {
  create,
  drop,
  listCollections,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
};

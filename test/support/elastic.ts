/**
 * An Elasticsearch stand-in for tests: the official client over `@elastic/elasticsearch-mock`'s
 * connection (no server; none can be installed here), with resolvers that keep indexes and
 * aliases in memory and answer the one query shape ElasticSearchBackend sends. Its "analyzer"
 * is lib/fold.ts and its score a simple term frequency: it checks what the adapter asks and how
 * it reads the answers, not Elasticsearch's scoring. External versions are kept as Elasticsearch
 * keeps them (a write whose version is not greater than the stored one is a 409 conflict).
 * Every request is recorded.
 */
import { createRequire } from 'node:module';
import { Client, errors } from '@elastic/elasticsearch';
import type { MockPattern, ResolverFn } from '@elastic/elasticsearch-mock';
import { foldWords } from '../../src/lib/fold.js';
import type { SearchDocument } from '../../src/modules/search/elastic-search.backend.js';

type Body = Record<string, unknown>;

// A CommonJS package whose typings say `export default`: required, so the class is the export.
interface MockApi {
  add(pattern: MockPattern, resolver: ResolverFn): unknown;
  getConnection(): ConstructorParameters<typeof Client>[0]['Connection'];
}
const Mock = createRequire(import.meta.url)('@elastic/elasticsearch-mock') as new () => MockApi;

export interface FakeElastic {
  client: Client;
  requests: { method: string; path: string; body: unknown; query: Record<string, string> }[];
  /** Index name → its creation body, documents by id and their external versions. */
  indices: Map<string, FakeIndex>;
  /** Alias → index names. */
  aliases: Map<string, string[]>;
}

export interface FakeIndex {
  created: Body;
  docs: Map<string, SearchDocument>;
  versions: Map<string, number>;
}

function conflict(id: string) {
  return new errors.ResponseError({
    body: { error: { type: 'version_conflict_engine_exception', reason: id }, status: 409 },
    statusCode: 409,
    headers: {},
    warnings: null,
    meta: {} as never,
  });
}

/** Stores a document unless the index has the same or a newer external version of it. */
function put(index: FakeIndex, id: string, doc: SearchDocument, version: unknown): boolean {
  if (version !== undefined) {
    const v = Number(version);
    if ((index.versions.get(id) ?? -1) >= v) return false;
    index.versions.set(id, v);
  }
  index.docs.set(id, doc);
  return true;
}

function notFound(what: string) {
  return new errors.ResponseError({
    body: { error: { type: 'index_not_found_exception', reason: what }, status: 404 },
    statusCode: 404,
    headers: {},
    warnings: null,
    meta: {} as never,
  });
}

interface SearchBody {
  size: number;
  query: {
    bool: {
      must: [{ match: { content: { query: string; operator: 'and' } } }];
      filter: [{ terms: { conversationId: string[] } }];
    };
  };
  search_after?: [number, number, string];
}

export function fakeElastic(): FakeElastic {
  const mock = new Mock();
  const fake: FakeElastic = {
    client: new Client({
      node: 'http://elasticsearch.invalid:9200',
      Connection: mock.getConnection(),
    }),
    requests: [],
    indices: new Map(),
    aliases: new Map(),
  };
  const resolve = (name: string) =>
    fake.aliases.get(name) ?? (fake.indices.has(name) ? [name] : []);
  const indexOf = (name: string) => {
    const [index] = resolve(name);
    const found = index === undefined ? undefined : fake.indices.get(index);
    if (!found) throw notFound(name);
    return found;
  };
  const on = (
    method: string | string[],
    path: string,
    fn: (p: MockPattern & { body: unknown; querystring: Record<string, string> }) => unknown,
  ) =>
    mock.add({ method, path }, (params: MockPattern) => {
      const p = params as MockPattern & {
        body: unknown;
        path: string;
        method: string;
        querystring: Record<string, string>;
      };
      fake.requests.push({ method: p.method, path: p.path, body: p.body, query: p.querystring });
      try {
        return fn(p) as Body;
      } catch (error) {
        if (error instanceof errors.ResponseError) return error;
        throw error;
      }
    });
  const param = (p: { path: unknown }, at: number) =>
    decodeURIComponent(String(p.path).split('/')[at] ?? '');

  on('HEAD', '/_alias/:name', (p) => {
    if (!fake.aliases.has(param(p, 2))) throw notFound(param(p, 2));
    return {};
  });
  on('GET', '/_alias/:name', (p) => {
    const name = param(p, 2);
    const indices = fake.aliases.get(name);
    if (!indices) throw notFound(name);
    return Object.fromEntries(indices.map((i) => [i, { aliases: { [name]: {} } }]));
  });
  on('PUT', '/:index', (p) => {
    const index = param(p, 1);
    const body = p.body as Body;
    fake.indices.set(index, { created: body, docs: new Map(), versions: new Map() });
    for (const alias of Object.keys((body.aliases as Body | undefined) ?? {})) {
      fake.aliases.set(alias, [...(fake.aliases.get(alias) ?? []), index]);
    }
    return { acknowledged: true, index };
  });
  on('DELETE', '/:index', (p) => {
    for (const index of param(p, 1).split(',')) fake.indices.delete(index);
    return { acknowledged: true };
  });
  on('PUT', '/:index/_doc/:id', (p) => {
    const id = param(p, 3);
    const index = indexOf(param(p, 1));
    const existed = index.docs.has(id);
    if (!put(index, id, p.body as SearchDocument, p.querystring.version)) throw conflict(id);
    return { result: existed ? 'updated' : 'created', _id: id };
  });
  on('POST', '/_bulk', (p) => {
    const lines = p.body as Body[];
    const items = [];
    for (let i = 0; i < lines.length; i += 2) {
      const action = (lines[i] as { index: { _index: string; _id: string; version?: number } })
        .index;
      const doc = lines[i + 1] as unknown as SearchDocument;
      const stored = put(indexOf(action._index), action._id, doc, action.version);
      items.push({ index: { _index: action._index, _id: action._id, status: stored ? 201 : 409 } });
    }
    return { errors: items.some((item) => item.index.status === 409), took: 1, items };
  });
  on(['GET', 'POST'], '/:index/_refresh', () => ({
    _shards: { total: 1, successful: 1, failed: 0 },
  }));
  on('POST', '/_aliases', (p) => {
    const actions = (p.body as { actions: Body[] }).actions;
    for (const action of actions) {
      const remove = action.remove as { index: string; alias: string } | undefined;
      const add = action.add as { index: string; alias: string } | undefined;
      if (remove) {
        const left = (fake.aliases.get(remove.alias) ?? []).filter((i) => i !== remove.index);
        fake.aliases.set(remove.alias, left);
      }
      if (add) fake.aliases.set(add.alias, [...(fake.aliases.get(add.alias) ?? []), add.index]);
    }
    return { acknowledged: true };
  });
  on('POST', '/:index/_search', (p) => search(indexOf(param(p, 1)).docs, p.body as SearchBody));
  return fake;
}

/** The adapter's query: every folded word (operator and), conversation filter, keyset order. */
function search(docs: Map<string, SearchDocument>, body: SearchBody) {
  const match = body.query.bool.must[0].match.content;
  if (match.operator !== 'and') throw new Error('expected operator and');
  const words = foldWords(match.query);
  const conversations = new Set(body.query.bool.filter[0].terms.conversationId);
  const rows = [];
  for (const doc of docs.values()) {
    if (!conversations.has(doc.conversationId)) continue;
    const terms = foldWords(doc.content);
    const counts = words.map((w) => terms.filter((t) => t === w).length);
    if (counts.some((c) => c === 0)) continue;
    const score = Math.fround(counts.reduce((sum, c) => sum + c / terms.length, 0));
    rows.push({ doc, sort: [score, Date.parse(doc.createdAt ?? ''), doc.messageId] as const });
  }
  const after = body.search_after;
  const order = (a: readonly [number, number, string], b: readonly [number, number, string]) =>
    b[0] - a[0] || b[1] - a[1] || (a[2] < b[2] ? 1 : a[2] > b[2] ? -1 : 0);
  const page = rows
    .sort((a, b) => order(a.sort, b.sort))
    .filter((r) => !after || order(r.sort, after) > 0)
    .slice(0, body.size);
  return {
    took: 1,
    timed_out: false,
    hits: {
      hits: page.map((r) => ({
        _index: 'x',
        _id: r.doc.messageId,
        _score: null,
        _source: { conversationId: r.doc.conversationId },
        sort: r.sort,
      })),
    },
  };
}

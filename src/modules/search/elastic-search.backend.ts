import type { Client, estypes } from '@elastic/elasticsearch';
import type { Collection, Db } from 'mongodb';
import { type MessageDoc, toMessage } from '../messages/messages.repository.js';
import {
  REINDEX_BATCH,
  type MessageSearch,
  type ReindexProgress,
  type SearchBackend,
  type SearchHit,
} from './search.backend.js';

/** The name every read and write goes through; the index behind it changes on each reindex. */
export const SEARCH_ALIAS = 'parley-messages';

/**
 * Case and diacritics folded the way lib/fold.ts folds them: Turkish lower-casing (I → ı,
 * İ → i), then ASCII folding (ı → i, ş → s, é → e). The standard tokenizer splits words.
 */
export const INDEX_SETTINGS: estypes.IndicesIndexSettings = {
  number_of_shards: 1,
  analysis: {
    filter: { turkish_lowercase: { type: 'lowercase', language: 'turkish' } },
    analyzer: {
      folded: {
        type: 'custom',
        tokenizer: 'standard',
        filter: ['turkish_lowercase', 'asciifolding'],
      },
    },
  },
};

export const INDEX_MAPPINGS: estypes.MappingTypeMapping = {
  dynamic: 'strict',
  properties: {
    messageId: { type: 'keyword' },
    conversationId: { type: 'keyword' },
    senderId: { type: 'keyword' },
    content: { type: 'text', analyzer: 'folded' },
    createdAt: { type: 'date' },
  },
};

/**
 * One message as the index stores it (its id is also the document `_id`). A deleted message is
 * kept as a tombstone (empty `content`, which no query matches, no `createdAt`) so that its
 * version stays in the index and an older event replayed later cannot bring it back.
 */
export interface SearchDocument {
  messageId: string;
  conversationId: string;
  senderId: string;
  content: string;
  createdAt?: string;
}

/** A document with the version of the change it shows (Elasticsearch external versioning). */
export interface VersionedDocument {
  document: SearchDocument;
  version: number;
}

/** The changes a message goes through, in the order they can happen within one millisecond. */
const CHANGE_RANK = { created: 0, edited: 1, deleted: 2 } as const;

/**
 * The version of a message's state after a change at `at`: later changes have greater versions,
 * and within one millisecond an edit beats the creation and a deletion beats both. The same
 * change always gives the same version, so applying it again is refused as a conflict: that is
 * what makes every write idempotent and order-proof.
 */
export function changeVersion(kind: keyof typeof CHANGE_RANK, at: Date | string): number {
  return new Date(at).getTime() * 3 + CHANGE_RANK[kind];
}

/** The fields of a stored message the index needs. */
export interface IndexableMessage {
  id: string;
  conversationId: string;
  senderId: string;
  content: string;
  type: string;
  editedAt?: Date;
  deletedAt?: Date;
  createdAt: Date;
}

/** What the index holds for a stored message now: nothing for system notices. */
export function versionedDocumentOf(m: IndexableMessage): VersionedDocument | null {
  if (m.type === 'system') return null;
  const ids = { messageId: m.id, conversationId: m.conversationId, senderId: m.senderId };
  if (m.deletedAt)
    return { document: { ...ids, content: '' }, version: changeVersion('deleted', m.deletedAt) };
  return {
    document: { ...ids, content: m.content, createdAt: m.createdAt.toISOString() },
    version: m.editedAt
      ? changeVersion('edited', m.editedAt)
      : changeVersion('created', m.createdAt),
  };
}

export interface ElasticSearchOptions {
  alias?: string;
  /** Index names are `<alias>-<suffix>`; a time stamp by default. */
  indexSuffix?: () => string;
}

/**
 * Elasticsearch 8 behind the alias `parley-messages` (SPEC §11). Documents are written by the
 * `search-indexer` consumer (search-indexer.consumer.ts) through `write`, versioned by the change
 * each shows, so an older or replayed event never overwrites a newer state; `reindex` builds a new
 * index from MongoDB and swaps the alias in one atomic `_aliases` call, so searches never see a
 * half-built index. Membership is not stored: each query filters by the caller's conversation
 * ids, read from MongoDB at query time (a `terms` filter; up to 65,536 ids by default).
 * Tested only with `@elastic/elasticsearch-mock` (docs/SEARCH.md).
 */
export class ElasticSearchBackend implements SearchBackend {
  readonly name = 'elasticsearch';
  private readonly alias: string;
  private readonly suffix: () => string;
  private readonly messages: Collection<MessageDoc>;

  constructor(
    private readonly client: Client,
    db: Db,
    options: ElasticSearchOptions = {},
  ) {
    this.alias = options.alias ?? SEARCH_ALIAS;
    this.suffix = options.indexSuffix ?? (() => new Date().toISOString().replace(/\D/g, ''));
    this.messages = db.collection<MessageDoc>('messages');
  }

  /** Creates the first index behind the alias when there is none. */
  async ensureReady(): Promise<void> {
    if (await this.client.indices.existsAlias({ name: this.alias })) return;
    await this.createIndex(`${this.alias}-${this.suffix()}`, true);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  async searchMessages(search: MessageSearch): Promise<SearchHit[]> {
    const result = await this.client.search<Pick<SearchDocument, 'conversationId'>>({
      index: this.alias,
      size: search.limit,
      track_total_hits: false,
      _source: ['conversationId'],
      query: {
        bool: {
          must: [{ match: { content: { query: search.words.join(' '), operator: 'and' } } }],
          filter: [{ terms: { conversationId: search.conversationIds } }],
        },
      },
      sort: [
        { _score: { order: 'desc' } },
        { createdAt: { order: 'desc' } },
        { messageId: { order: 'desc' } },
      ],
      ...(search.after
        ? { search_after: [search.after.score, search.after.createdAt.getTime(), search.after.id] }
        : {}),
    });
    return result.hits.hits.map((hit) => {
      const [score, createdAt, id] = hit.sort as [number, number, string];
      return {
        id,
        score,
        createdAt: new Date(createdAt),
        conversationId: hit._source?.conversationId ?? '',
      };
    });
  }

  /**
   * Writes a message's state unless the index holds the same or a newer version of it (an
   * older or replayed event). Resolves to false when it was not newer.
   */
  async write({ document, version }: VersionedDocument): Promise<boolean> {
    const result = await this.client.index(
      {
        index: this.alias,
        id: document.messageId,
        document,
        version,
        version_type: 'external',
      },
      { ignore: [409] },
    );
    return result.result === 'created' || result.result === 'updated';
  }

  /**
   * A new index filled from MongoDB in batches, refreshed, then the alias moved to it and the
   * old indexes deleted. Changes written meanwhile went to the old index: replay the
   * search-indexer's events from the reindex's start to bring them over (docs/SEARCH.md).
   */
  async reindex(onProgress: (p: ReindexProgress) => void): Promise<ReindexProgress> {
    const index = `${this.alias}-${this.suffix()}`;
    await this.createIndex(index, false);
    const progress = { done: 0, total: await this.messages.estimatedDocumentCount() };
    let batch: VersionedDocument[] = [];
    const flush = async () => {
      await this.bulkIndex(index, batch);
      batch = [];
      onProgress({ ...progress });
    };
    const cursor = this.messages.find({}).sort({ _id: 1 }).batchSize(REINDEX_BATCH);
    for await (const doc of cursor) {
      progress.done += 1;
      const versioned = versionedDocumentOf(toMessage(doc));
      if (versioned) batch.push(versioned);
      if (progress.done % REINDEX_BATCH === 0) await flush();
    }
    await flush();
    await this.client.indices.refresh({ index });
    await this.swapAlias(index);
    return progress;
  }

  private async createIndex(index: string, withAlias: boolean): Promise<void> {
    await this.client.indices.create({
      index,
      settings: INDEX_SETTINGS,
      mappings: INDEX_MAPPINGS,
      ...(withAlias ? { aliases: { [this.alias]: {} } } : {}),
    });
  }

  private async bulkIndex(index: string, batch: VersionedDocument[]): Promise<void> {
    if (batch.length === 0) return;
    const result = await this.client.bulk({
      operations: batch.flatMap(({ document, version }) => [
        { index: { _index: index, _id: document.messageId, version, version_type: 'external' } },
        document,
      ]),
    });
    if (result.errors) {
      // A conflict means the index already holds a newer version: nothing to do.
      const failed = result.items.find((item) => item.index?.error && item.index.status !== 409)
        ?.index?.error;
      if (!failed) return;
      throw new Error(`bulk indexing into ${index} failed: ${failed.reason ?? 'unknown error'}`);
    }
  }

  /** Points the alias at `index` alone in one atomic call, then deletes the indexes it left. */
  private async swapAlias(index: string): Promise<void> {
    const exists = await this.client.indices.existsAlias({ name: this.alias });
    const previous = exists
      ? Object.keys(await this.client.indices.getAlias({ name: this.alias }))
      : [];
    await this.client.indices.updateAliases({
      actions: [
        ...previous.map((old) => ({ remove: { index: old, alias: this.alias } })),
        { add: { index, alias: this.alias } },
      ],
    });
    const stale = previous.filter((old) => old !== index);
    if (stale.length > 0) await this.client.indices.delete({ index: stale });
  }
}

import {
  ObjectId,
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  type Document,
} from 'mongodb';
import { searchTextOf, type MessageDoc } from '../messages/messages.repository.js';
import {
  REINDEX_BATCH,
  type MessageSearch,
  type ReindexProgress,
  type SearchBackend,
  type SearchHit,
} from './search.backend.js';

/** The text index over `messages.searchText`. One per collection, as MongoDB allows. */
export const MESSAGE_SEARCH_INDEX = {
  key: { searchText: 'text' },
  name: 'message_search',
  // Words are folded before they are stored and searched: no stemming, no stop words.
  default_language: 'none',
} as const;

/**
 * The default backend: MongoDB's `text` index over the folded `searchText` of each message.
 *
 * Every word must match, as a whole word: each becomes the phrase `" w "` of `$search` (a
 * phrase must be present, and `searchText` keeps one space around every word), so the text
 * index finds the candidates and the phrase test keeps only those with every word. Membership
 * is one `conversationId` `$in` in the same `$match`, checked on the text index's candidates
 * (see docs/SEARCH.md for the measurements behind that choice).
 */
export class MongoSearchBackend implements SearchBackend {
  readonly name = 'mongodb';
  private readonly messages: Collection<MessageDoc>;

  constructor(db: Db) {
    this.messages = db.collection<MessageDoc>('messages');
  }

  async ensureReady(): Promise<void> {
    const { key, ...options } = MESSAGE_SEARCH_INDEX;
    await this.messages.createIndex(key, options);
  }

  /** Writes `searchText` where it is missing or stale; the text index follows each write. */
  async reindex(onProgress: (p: ReindexProgress) => void): Promise<ReindexProgress> {
    await this.ensureReady();
    return rewriteSearchText(this.messages, onProgress);
  }

  /** Uses the app's MongoDB connection: nothing of its own to close. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  async searchMessages(search: MessageSearch): Promise<SearchHit[]> {
    const ids = search.conversationIds.map((id) => new ObjectId(id));
    const pipeline: Document[] = [
      {
        $match: {
          $text: { $search: searchPhrases(search.words) },
          conversationId: ids.length === 1 ? ids[0] : { $in: ids },
          deletedAt: { $exists: false },
        },
      },
      { $project: { conversationId: 1, createdAt: 1, score: { $meta: 'textScore' } } },
      ...(search.after ? [{ $match: afterFilter(search.after) }] : []),
      { $sort: { score: -1, createdAt: -1, _id: -1 } },
      { $limit: search.limit },
    ];
    const rows = await this.messages
      .aggregate<{ _id: ObjectId; conversationId: ObjectId; createdAt: Date; score: number }>(
        pipeline,
      )
      .toArray();
    return rows.map((r) => ({
      id: r._id.toHexString(),
      conversationId: r.conversationId.toHexString(),
      createdAt: r.createdAt,
      score: r.score,
    }));
  }
}

/**
 * What reindex compares: the stored `searchText` against the one the content gives now.
 * Messages stored before search existed have none; a change to the folding rules changes some.
 */
async function rewriteSearchText(
  messages: Collection<MessageDoc>,
  onProgress: (p: ReindexProgress) => void,
): Promise<ReindexProgress> {
  const progress = { done: 0, total: await messages.estimatedDocumentCount() };
  const cursor = messages
    .find({}, { projection: { type: 1, content: 1, deletedAt: 1, searchText: 1 } })
    .sort({ _id: 1 })
    .batchSize(REINDEX_BATCH);
  let writes: AnyBulkWriteOperation<MessageDoc>[] = [];
  const flush = async () => {
    if (writes.length > 0) await messages.bulkWrite(writes, { ordered: false });
    writes = [];
    onProgress({ ...progress });
  };
  for await (const doc of cursor) {
    progress.done += 1;
    const wanted = doc.deletedAt ? undefined : searchTextOf(doc.type, doc.content);
    if (wanted !== doc.searchText) {
      // Conditional on the content read: an edit made meanwhile wrote its own searchText.
      const filter = { _id: doc._id, content: doc.content };
      writes.push({
        updateOne: {
          filter,
          update: wanted ? { $set: { searchText: wanted } } : { $unset: { searchText: '' } },
        },
      });
    }
    if (progress.done % REINDEX_BATCH === 0) await flush();
  }
  await flush();
  return progress;
}

/** `$search` for "every word, as a whole word" (see the class comment). */
export function searchPhrases(words: readonly string[]): string {
  return words.map((w) => `" ${w} "`).join(' ');
}

function afterFilter(after: NonNullable<MessageSearch['after']>): Document {
  const id = new ObjectId(after.id);
  return {
    $or: [
      { score: { $lt: after.score } },
      { score: after.score, createdAt: { $lt: after.createdAt } },
      { score: after.score, createdAt: after.createdAt, _id: { $lt: id } },
    ],
  };
}

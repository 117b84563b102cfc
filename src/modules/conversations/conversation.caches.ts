import type { Logger } from '../../logger.js';
import { ReadCache } from '../../infra/read-cache.js';
import type { RedisHandles } from '../../infra/redis.js';

/**
 * Bounds staleness if an invalidation is ever lost (Redis unreachable for that one write): the
 * pages are correct because every change invalidates them, not because they expire.
 */
const TTL_SECONDS = 120;

/**
 * The two hottest reads, cached in Redis for every instance (issue #19): a conversation's newest
 * history page and a user's first page of conversations, one hash field per page size. Every
 * path that changes what they show invalidates them after its write (ReadCache's generations
 * keep a racing load from storing the old page):
 * - a message stored (send, system notice, auto message): the history and every member's list;
 * - an edit or delete: the same (the preview and unread counts move);
 * - a reaction: the history only;
 * - a read pointer moved: the reader's list;
 * - a conversation created or its membership changed: the lists of everyone it touched.
 * Failures are logged, never thrown: the change is stored, and the TTL bounds the staleness.
 */
export class ConversationCaches {
  private readonly cache: ReadCache;

  constructor(
    redis: RedisHandles,
    private readonly logger: Logger,
  ) {
    this.cache = new ReadCache(redis, logger, TTL_SECONDS);
  }

  newestMessages<T>(
    conversationId: string,
    size: number,
    load: () => Promise<T>,
    revive: (json: unknown) => T,
  ): Promise<T | null> {
    return this.cache.read(historyKey(conversationId), load, { field: String(size), revive });
  }

  firstListPage<T>(userId: string, size: number, load: () => Promise<T>): Promise<T | null> {
    return this.cache.read(conversationListKey(userId), load, { field: String(size) });
  }

  /**
   * Messages were stored, edited or deleted: each conversation's history and every member's
   * list, in one round trip however many (a group commit's batch).
   */
  messagesChanged(
    changes: readonly { conversationId: string; participants: readonly string[] }[],
  ): Promise<void> {
    const names = new Set<string>();
    for (const { conversationId, participants } of changes) {
      names.add(historyKey(conversationId));
      for (const userId of participants) names.add(conversationListKey(userId));
    }
    return this.drop([...names]);
  }

  /** A reaction: only the history shows it. */
  historyChanged(conversationId: string): Promise<void> {
    return this.drop([historyKey(conversationId)]);
  }

  /** Read pointers, new conversations, membership changes. */
  listsChanged(userIds: readonly string[]): Promise<void> {
    return this.drop(userIds.map(conversationListKey));
  }

  private async drop(names: string[]): Promise<void> {
    try {
      await this.cache.invalidate(names);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not invalidate conversation caches');
    }
  }
}

const historyKey = (conversationId: string) => `history:${conversationId}`;
const conversationListKey = (userId: string) => `conv_list:${userId}`;

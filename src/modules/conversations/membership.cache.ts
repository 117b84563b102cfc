import type { Logger } from '../../logger.js';
import type { RedisHandles } from '../../infra/redis.js';
import { ReadCache } from '../../infra/read-cache.js';
import { BoundedMap } from '../../lib/bounded-map.js';
import type { ConversationsRepository, Membership } from './conversations.repository.js';

const TTL_SECONDS = 600;
/** Direct conversations kept in memory (least recently used first out): a few MB at most. */
const FIXED_IN_MEMORY = 50_000;

/**
 * Hot reads for every socket event and send: a conversation's participants and a user's
 * contacts, cached in Redis, which every instance shares. MongoDB stays the truth: a miss or a
 * Redis error reads MongoDB, never guesses.
 *
 * Membership changes (groups gain and lose members) invalidate across instances: the writer
 * changes MongoDB first, then bumps each key's generation and deletes the value, so every
 * instance's next read goes to MongoDB; a reader only caches what it loaded if the generation
 * it saw before loading is still current (ReadCache).
 *
 * A direct conversation's two members never change (it is never deleted either): once read,
 * they are served from this process's memory, with nothing to invalidate — no Redis round
 * trip on the 1:1 send path.
 */
export class MembershipCache {
  private readonly cache: ReadCache;
  private readonly fixed: BoundedMap<string, string[]>;

  constructor(
    redis: RedisHandles,
    private readonly conversations: Pick<ConversationsRepository, 'membershipOf' | 'contactsOf'>,
    private readonly logger: Logger,
    fixedInMemory = FIXED_IN_MEMORY,
  ) {
    this.cache = new ReadCache(redis, logger, TTL_SECONDS);
    this.fixed = new BoundedMap(fixedInMemory);
  }

  async participants(conversationId: string): Promise<string[] | null> {
    const known = this.fixed.get(conversationId);
    if (known) {
      // Set again, it is the newest: the busiest conversations stay.
      this.fixed.set(conversationId, known);
      return known;
    }
    const found = await this.cache.read<Membership | string[]>(membersKey(conversationId), () =>
      this.conversations.membershipOf(conversationId),
    );
    // A bare list: cached before `fixed` was recorded; treated as changeable.
    if (!found || Array.isArray(found)) return found;
    if (found.fixed) this.fixed.set(conversationId, found.participants);
    return found.participants;
  }

  async isMember(conversationId: string, userId: string): Promise<string[] | null> {
    const participants = await this.participants(conversationId);
    return participants?.includes(userId) ? participants : null;
  }

  async contacts(userId: string): Promise<string[]> {
    return (
      (await this.cache.read(contactsKey(userId), () => this.conversations.contactsOf(userId))) ??
      []
    );
  }

  /** Everyone in a new conversation may have a new contact. */
  async conversationCreated(participants: readonly string[]): Promise<void> {
    try {
      await this.cache.invalidate(participants.map(contactsKey));
    } catch (error) {
      // A stale contact list only delays presence notices; it expires within the TTL.
      this.logger.warn({ err: error }, 'could not invalidate contacts cache');
    }
  }

  /**
   * After a membership change is stored: the conversation's members and the contacts of everyone
   * it touched. Failing here would leave a removed member with access, so errors propagate.
   */
  async membershipChanged(conversationId: string, affected: readonly string[]): Promise<void> {
    await this.cache.invalidate([membersKey(conversationId), ...affected.map(contactsKey)]);
  }
}

const membersKey = (conversationId: string) => `conv_members:${conversationId}`;
const contactsKey = (userId: string) => `contacts:${userId}`;

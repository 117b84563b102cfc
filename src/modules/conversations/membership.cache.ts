import type { Logger } from '../../logger.js';
import type { RedisHandles } from '../../infra/redis.js';
import type { ConversationsRepository, Membership } from './conversations.repository.js';

const TTL_SECONDS = 600;
/** Direct conversations kept in memory (oldest read first out): a few MB at most. */
const FIXED_IN_MEMORY = 50_000;
/** Outlives any value it guards, so a reader's generation can never come round again. */
const GENERATION_TTL_SECONDS = 2 * TTL_SECONDS;

// KEYS: value, generation. ARGV: generation the reader saw before loading, value, ttl.
// Stores only if no invalidation happened since the reader looked: a load that raced with a
// membership change never caches the old members.
const SET_IF_UNCHANGED = `
if (redis.call('GET', KEYS[2]) or '0') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return 0
`;

/**
 * Hot reads for every socket event and send: a conversation's participants and a user's
 * contacts, cached in Redis, which every instance shares. MongoDB stays the truth: a miss or a
 * Redis error reads MongoDB, never guesses.
 *
 * Membership changes (groups gain and lose members) invalidate across instances: the writer
 * changes MongoDB first, then bumps each key's generation and deletes the value, so every
 * instance's next read goes to MongoDB; a reader only caches what it loaded if the generation
 * it saw before loading is still current (SET_IF_UNCHANGED).
 *
 * A direct conversation's two members never change (it is never deleted either): once read,
 * they are served from this process's memory, with nothing to invalidate — no Redis round
 * trip on the 1:1 send path.
 */
export class MembershipCache {
  private readonly fixed = new Map<string, string[]>();

  constructor(
    private readonly redis: RedisHandles,
    private readonly conversations: Pick<ConversationsRepository, 'membershipOf' | 'contactsOf'>,
    private readonly logger: Logger,
  ) {}

  async participants(conversationId: string): Promise<string[] | null> {
    const known = this.fixed.get(conversationId);
    if (known) return known;
    const found = await this.cached<Membership | string[]>(membersKey(conversationId), () =>
      this.conversations.membershipOf(conversationId),
    );
    // A bare list: cached before `fixed` was recorded; treated as changeable.
    if (!found || Array.isArray(found)) return found;
    if (found.fixed) this.remember(conversationId, found.participants);
    return found.participants;
  }

  private remember(conversationId: string, participants: string[]): void {
    if (this.fixed.size >= FIXED_IN_MEMORY) {
      const oldest = this.fixed.keys().next();
      if (!oldest.done) this.fixed.delete(oldest.value);
    }
    this.fixed.set(conversationId, participants);
  }

  async isMember(conversationId: string, userId: string): Promise<string[] | null> {
    const participants = await this.participants(conversationId);
    return participants?.includes(userId) ? participants : null;
  }

  async contacts(userId: string): Promise<string[]> {
    return (
      (await this.cached(contactsKey(userId), () => this.conversations.contactsOf(userId))) ?? []
    );
  }

  /** Everyone in a new conversation may have a new contact. */
  async conversationCreated(participants: readonly string[]): Promise<void> {
    try {
      await this.invalidate(participants.map(contactsKey));
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
    await this.invalidate([membersKey(conversationId), ...affected.map(contactsKey)]);
  }

  private async invalidate(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const batch = this.redis.client.multi();
    for (const name of names) {
      const generation = this.redis.key(generationKey(name));
      batch.incr(generation).expire(generation, GENERATION_TTL_SECONDS).del(this.redis.key(name));
    }
    const results = await batch.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('cache invalidation was not executed');
  }

  private async cached<T>(name: string, load: () => Promise<T | null>): Promise<T | null> {
    const key = this.redis.key(name);
    const generationName = this.redis.key(generationKey(name));
    let generation: string;
    try {
      const [hit, seen] = await this.redis.client.mget(key, generationName);
      if (hit) return JSON.parse(hit) as T;
      generation = seen ?? '0';
    } catch (error) {
      this.logger.warn({ err: error, key }, 'cache read failed; reading MongoDB');
      return load();
    }
    const value = await load();
    if (value !== null) {
      this.redis.client
        .eval(
          SET_IF_UNCHANGED,
          2,
          key,
          generationName,
          generation,
          JSON.stringify(value),
          TTL_SECONDS,
        )
        .catch((error: unknown) => {
          this.logger.warn({ err: error, key }, 'cache write failed');
        });
    }
    return value;
  }
}

const membersKey = (conversationId: string) => `conv_members:${conversationId}`;
const contactsKey = (userId: string) => `contacts:${userId}`;
const generationKey = (name: string) => `cache_gen:${name}`;

import type { Logger } from '../../logger.js';
import type { RedisHandles } from '../../infra/redis.js';
import type { ConversationsRepository } from './conversations.repository.js';

const TTL_SECONDS = 600;

/**
 * Hot reads for every socket event: a conversation's participants and a user's contacts, cached
 * in Redis. MongoDB stays the truth: a miss or a Redis error reads MongoDB, never guesses.
 * Membership of a conversation does not change once created (no add/remove API yet); contacts
 * are invalidated whenever a conversation is created.
 */
export class MembershipCache {
  constructor(
    private readonly redis: RedisHandles,
    private readonly conversations: ConversationsRepository,
    private readonly logger: Logger,
  ) {}

  async participants(conversationId: string): Promise<string[] | null> {
    return this.cached(`conv_members:${conversationId}`, () =>
      this.conversations.participantsOf(conversationId),
    );
  }

  async isMember(conversationId: string, userId: string): Promise<string[] | null> {
    const participants = await this.participants(conversationId);
    return participants?.includes(userId) ? participants : null;
  }

  async contacts(userId: string): Promise<string[]> {
    return (
      (await this.cached(`contacts:${userId}`, () => this.conversations.contactsOf(userId))) ?? []
    );
  }

  /** Everyone in a new conversation may have a new contact. */
  async conversationCreated(participants: readonly string[]): Promise<void> {
    try {
      await this.redis.client.del(...participants.map((id) => this.redis.key(`contacts:${id}`)));
    } catch (error) {
      // A stale contact list only delays presence notices; it expires within the TTL.
      this.logger.warn({ err: error }, 'could not invalidate contacts cache');
    }
  }

  private async cached<T>(name: string, load: () => Promise<T | null>): Promise<T | null> {
    const key = this.redis.key(name);
    try {
      const hit = await this.redis.client.get(key);
      if (hit !== null) return JSON.parse(hit) as T;
    } catch (error) {
      this.logger.warn({ err: error, key }, 'cache read failed; reading MongoDB');
      return load();
    }
    const value = await load();
    if (value !== null) {
      this.redis.client
        .set(key, JSON.stringify(value), 'EX', TTL_SECONDS)
        .catch((error: unknown) => {
          this.logger.warn({ err: error, key }, 'cache write failed');
        });
    }
    return value;
  }
}

import type { DomainEvent } from '../../contracts/events.js';
import type { EventConsumer } from '../events/consumers.js';
import {
  changeVersion,
  type ElasticSearchBackend,
  type VersionedDocument,
} from './elastic-search.backend.js';

/** Reads a message's creation time, which an edit event does not carry (it never changes). */
export type CreatedAtOf = (conversationId: string, messageId: string) => Promise<Date | null>;

/**
 * The `search-indexer` consumer (SPEC §10, §11): keeps the Elasticsearch index current from the
 * message events. Membership is not stored in the index (each query filters by the caller's
 * conversations, read at query time), so member changes need no binding. Each event becomes one
 * write whose version is derived from the change itself (`changeVersion`): a redelivery or a
 * replay of the same event is refused as a conflict, and an older event arriving after a newer
 * one never overwrites it, whatever order the queue delivers them in.
 */
export function searchIndexerConsumer(
  index: Pick<ElasticSearchBackend, 'write'>,
  createdAtOf: CreatedAtOf,
): EventConsumer {
  return {
    name: 'search-indexer',
    keys: ['message.created', 'message.edited', 'message.deleted'],
    prefetch: 100,
    async handle(event) {
      const versioned = await documentFor(event, createdAtOf);
      if (versioned) await index.write(versioned);
    },
  };
}

/** The state of the message after the event, or null when the index keeps nothing for it. */
export async function documentFor(
  event: DomainEvent,
  createdAtOf: CreatedAtOf,
): Promise<VersionedDocument | null> {
  switch (event.type) {
    case 'message.created': {
      const { messageId, conversationId, senderId, type, content, createdAt } = event.data;
      if (type === 'system') return null;
      return {
        document: { messageId, conversationId, senderId, content, createdAt },
        version: changeVersion('created', createdAt),
      };
    }
    case 'message.edited': {
      const { messageId, conversationId, senderId, content, editedAt } = event.data;
      const createdAt = await createdAtOf(conversationId, messageId);
      if (!createdAt) return null;
      return {
        document: {
          messageId,
          conversationId,
          senderId,
          content,
          createdAt: createdAt.toISOString(),
        },
        version: changeVersion('edited', editedAt),
      };
    }
    case 'message.deleted': {
      const { messageId, conversationId, senderId, deletedAt } = event.data;
      return {
        document: { messageId, conversationId, senderId, content: '' },
        version: changeVersion('deleted', deletedAt),
      };
    }
    default:
      return null;
  }
}

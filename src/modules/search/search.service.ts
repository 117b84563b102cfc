import type { SearchPage } from '../../contracts/search.js';
import { errors } from '../../errors.js';
import { queryWords } from '../../lib/fold.js';
import type { ConversationsRepository } from '../conversations/conversations.repository.js';
import type { ConversationsService } from '../conversations/conversations.service.js';
import type { MessagesRepository } from '../messages/messages.repository.js';
import { presentMessage } from '../messages/messages.present.js';
import type { SearchBackend, SearchPosition } from './search.backend.js';

export interface SearchServiceDeps {
  backend: SearchBackend;
  messages: Pick<MessagesRepository, 'findByIds'>;
  conversations: Pick<ConversationsRepository, 'idsForMember' | 'findSummaries'>;
  conversationsService: Pick<ConversationsService, 'requireMember'>;
}

/**
 * Message search (SPEC §11). Membership is read at query time and handed to the backend, so a
 * removed member stops finding a group's messages at once whatever the backend; the backend
 * finds and orders ids, and the page shows each message as it is stored now (an edit shows its
 * new text, a message deleted since it was indexed is left out).
 */
export class SearchService {
  constructor(private readonly deps: SearchServiceDeps) {}

  async searchMessages(
    userId: string,
    query: { q: string; conversationId?: string; limit: number; cursor?: string },
  ): Promise<SearchPage> {
    const words = queryWords(query.q);
    if (words.length === 0) {
      throw errors.validation({ q: 'no words to search for' }, 'q has no letters or digits');
    }
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const conversationIds = query.conversationId
      ? await this.requireMember(query.conversationId, userId)
      : await this.deps.conversations.idsForMember(userId);
    if (conversationIds.length === 0) return { items: [], nextCursor: null };
    const hits = await this.deps.backend.searchMessages({
      words,
      conversationIds,
      limit: query.limit + 1,
      ...(after ? { after } : {}),
    });
    const pageHits = hits.slice(0, query.limit);
    const [messages, conversations] = await Promise.all([
      this.deps.messages.findByIds(pageHits.map((h) => h.id)),
      this.deps.conversations.findSummaries([...new Set(pageHits.map((h) => h.conversationId))]),
    ]);
    const messageById = new Map(messages.map((m) => [m.id, m]));
    const conversationById = new Map(conversations.map((c) => [c.id, c]));
    const items: SearchPage['items'] = [];
    for (const hit of pageHits) {
      const message = messageById.get(hit.id);
      const conversation = conversationById.get(hit.conversationId);
      if (!message || message.deletedAt || !conversation) continue;
      items.push({
        message: presentMessage(message, userId),
        conversation: {
          id: conversation.id,
          type: conversation.type,
          ...(conversation.name !== null ? { name: conversation.name } : {}),
        },
      });
    }
    const last = pageHits.at(-1);
    return { items, nextCursor: hits.length > query.limit && last ? encodeCursor(last) : null };
  }

  private async requireMember(conversationId: string, userId: string): Promise<string[]> {
    await this.deps.conversationsService.requireMember(conversationId, userId);
    return [conversationId];
  }
}

/** `<score>_<createdAt ms>_<id>`, base64url: the last hit of the page. */
export function encodeCursor(p: SearchPosition): string {
  return Buffer.from(`${p.score}_${p.createdAt.getTime()}_${p.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): SearchPosition {
  const match = /^([0-9.e+-]{1,32})_(\d{1,15})_([0-9a-f]{24})$/.exec(
    Buffer.from(cursor, 'base64url').toString(),
  );
  const score = Number(match?.[1]);
  if (!match?.[2] || !match[3] || !Number.isFinite(score) || score < 0) {
    throw errors.validation({ cursor: 'not a cursor this search returned' }, 'Invalid cursor');
  }
  return { score, createdAt: new Date(Number(match[2])), id: match[3] };
}

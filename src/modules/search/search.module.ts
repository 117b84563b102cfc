import type { Db } from 'mongodb';
import type { Config } from '../../config.js';
import type { ConversationsRepository } from '../conversations/conversations.repository.js';
import type { ConversationsService } from '../conversations/conversations.service.js';
import type { MessagesRepository } from '../messages/messages.repository.js';
import { MongoSearchBackend } from './mongo-search.backend.js';
import type { SearchBackend } from './search.backend.js';
import { SearchService } from './search.service.js';

/** The backend the configuration picks: MongoDB's text index unless ELASTICSEARCH_URL is set. */
export function createSearchBackend(_config: Readonly<Config>, db: Db): SearchBackend {
  return new MongoSearchBackend(db);
}

/** The configured backend, made ready, and the service over it. */
export async function buildSearch(
  config: Readonly<Config>,
  db: Db,
  deps: {
    messages: MessagesRepository;
    conversations: ConversationsRepository;
    conversationsService: ConversationsService;
  },
): Promise<{ backend: SearchBackend; service: SearchService }> {
  const backend = createSearchBackend(config, db);
  await backend.ensureReady();
  return { backend, service: new SearchService({ backend, ...deps }) };
}

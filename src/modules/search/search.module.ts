import { Client } from '@elastic/elasticsearch';
import type { Db } from 'mongodb';
import type { Config } from '../../config.js';
import { errorMessage } from '../../errors.js';
import { StartupError, redactUrl } from '../../infra/startup-error.js';
import type { EventConsumer } from '../events/consumers.js';
import type { MessagesRepository } from '../messages/messages.repository.js';
import { ElasticSearchBackend } from './elastic-search.backend.js';
import { MongoSearchBackend } from './mongo-search.backend.js';
import type { SearchBackend } from './search.backend.js';
import { searchIndexerConsumer } from './search-indexer.consumer.js';
import { SearchService, type SearchServiceDeps } from './search.service.js';

/** The backend the configuration picks: MongoDB's text index unless ELASTICSEARCH_URL is set. */
export function createSearchBackend(
  config: Pick<Config, 'ELASTICSEARCH_URL'>,
  db: Db,
  elasticClient?: Client,
): SearchBackend {
  if (!config.ELASTICSEARCH_URL) return new MongoSearchBackend(db);
  return new ElasticSearchBackend(
    elasticClient ?? new Client({ node: config.ELASTICSEARCH_URL }),
    db,
  );
}

/** The configured backend, made ready (an unreachable Elasticsearch stops start-up). */
export async function startSearchBackend(
  config: Pick<Config, 'ELASTICSEARCH_URL'>,
  db: Db,
): Promise<SearchBackend> {
  const backend = createSearchBackend(config, db);
  try {
    await backend.ensureReady();
    return backend;
  } catch (error) {
    await backend.close();
    if (!config.ELASTICSEARCH_URL) throw error;
    throw new StartupError(
      `Cannot reach Elasticsearch at ${redactUrl(config.ELASTICSEARCH_URL)}: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

/**
 * The `search-indexer` event consumer when the backend needs one: Elasticsearch is fed from the
 * message events; MongoDB's text index follows the message writes themselves.
 */
export function searchIndexer(
  backend: SearchBackend,
  messages: Pick<MessagesRepository, 'findInConversation'>,
): EventConsumer | null {
  if (!(backend instanceof ElasticSearchBackend)) return null;
  return searchIndexerConsumer(
    backend,
    async (conversationId, messageId) =>
      (await messages.findInConversation(conversationId, messageId))?.createdAt ?? null,
  );
}

export function createSearchService(
  backend: SearchBackend,
  deps: Omit<SearchServiceDeps, 'backend'>,
) {
  return new SearchService({ backend, ...deps });
}

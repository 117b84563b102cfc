import { Client } from '@elastic/elasticsearch';
import type { Db } from 'mongodb';
import type { Config } from '../../config.js';
import { errorMessage } from '../../errors.js';
import { StartupError, redactUrl } from '../../infra/startup-error.js';
import type { Notifier } from '../../contracts/socket.js';
import type { Logger } from '../../logger.js';
import { ElasticSearchBackend } from './elastic-search.backend.js';
import { MongoSearchBackend } from './mongo-search.backend.js';
import type { SearchBackend } from './search.backend.js';
import { indexingNotifier } from './notifier-indexer.js';
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
 * The notifier message writes go through: with Elasticsearch it also indexes what it announces
 * (interim, see notifier-indexer.ts); MongoDB's index follows the writes themselves.
 */
export function searchAwareNotifier(
  backend: SearchBackend,
  notifier: Notifier,
  logger: Logger,
): Notifier {
  return backend instanceof ElasticSearchBackend
    ? indexingNotifier(notifier, backend, logger)
    : notifier;
}

export function createSearchService(
  backend: SearchBackend,
  deps: Omit<SearchServiceDeps, 'backend'>,
) {
  return new SearchService({ backend, ...deps });
}

import type { Notifier, ServerEvent, ServerToClientEvents } from '../../contracts/socket.js';
import type { Logger } from '../../logger.js';
import type { ElasticSearchBackend } from './elastic-search.backend.js';

/**
 * Interim: keeps Elasticsearch current until the `search-indexer` event consumer (SPEC §10)
 * exists. Every created, edited and deleted message is announced through the notifier exactly
 * where it is committed, so this decorator indexes what is announced. A write that fails, or a
 * process that dies between the commit and the index write, leaves the index behind until
 * `npm run cli -- search reindex`; searches never show such a message wrongly (the service
 * reads each hit back from MongoDB). docs/SEARCH.md.
 */
export function indexingNotifier(
  notifier: Notifier,
  index: Pick<ElasticSearchBackend, 'indexMessage' | 'removeMessage'>,
  logger: Logger,
): Notifier {
  const tap = <E extends ServerEvent>(event: E, args: Parameters<ServerToClientEvents[E]>) => {
    const [payload] = args as unknown[];
    let write: Promise<void> | undefined;
    if (event === 'message_received' || event === 'message_updated') {
      write = index.indexMessage(
        (payload as Parameters<ServerToClientEvents['message_received']>[0]).message,
      );
    } else if (event === 'message_deleted') {
      write = index.removeMessage(
        (payload as Parameters<ServerToClientEvents['message_deleted']>[0]).messageId,
      );
    }
    write?.catch((error: unknown) => {
      logger.warn({ err: error, event }, 'search index write failed; run search reindex');
    });
  };
  return {
    toUsers(userIds, event, ...args) {
      tap(event, args);
      notifier.toUsers(userIds, event, ...args);
    },
    async toUsersOnce(onceKey, userIds, event, ...args) {
      tap(event, args);
      await notifier.toUsersOnce(onceKey, userIds, event, ...args);
    },
    disconnectSession: (sessionId) => notifier.disconnectSession(sessionId),
    leaveConversation: (userIds, conversationId) =>
      notifier.leaveConversation(userIds, conversationId),
  };
}

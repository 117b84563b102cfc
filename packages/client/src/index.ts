export { ParleyClient, createClient, type ClientOptions, type AuthResultView } from './client.js';
export { ParleyError, isTransient } from './errors.js';
export {
  ParleySocket,
  newClientMessageId,
  requestAck,
  type OutboxEntry,
  type SocketEvents,
  type SocketOptions,
} from './socket.js';
export { memoryStorage, type StorageAdapter } from './storage.js';
export type { SessionExpiredReason, StoredSession } from './session.js';
export {
  routes,
  routeUrl,
  type Api,
  type CallOptions,
  type Route,
  type RouteInput,
  type RouteName,
  type RouteResult,
} from './routes.js';
export type {
  AckBody,
  ClientEvent,
  ClientPayload,
  ServerEvent,
  ServerPayload,
} from '../../../src/contracts/socket.js';
export type { MessageView } from '../../../src/contracts/messages.js';
export type { ConversationView } from '../../../src/contracts/conversations.js';
export type { UserView, UserSummaryView } from '../../../src/contracts/users.js';

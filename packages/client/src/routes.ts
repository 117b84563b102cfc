import type { z } from 'zod';
import type * as auth from '../../../src/contracts/auth.js';
import type * as am from '../../../src/contracts/automessages.js';
import type * as conv from '../../../src/contracts/conversations.js';
import type * as jobs from '../../../src/contracts/jobs.js';
import type * as media from '../../../src/contracts/media.js';
import type * as msg from '../../../src/contracts/messages.js';
import type * as q from '../../../src/contracts/queues.js';
import type * as search from '../../../src/contracts/search.js';
import type * as stats from '../../../src/contracts/stats.js';
import type * as tasks from '../../../src/contracts/tasks.js';
import type * as users from '../../../src/contracts/users.js';
import type * as hooks from '../../../src/contracts/webhooks.js';

/**
 * Every REST route, typed from the contract schemas the server validates with. The imports are
 * type-only: the runtime table is method, path and access, so neither zod nor the schemas reach
 * a browser bundle. Adding a route is one line:
 *
 *   search: get('/api/search')<{ query: typeof s.SearchQuery; result: typeof s.SearchResult }>(),
 *
 * `body`/`query`/`result` name the schemas of the route's body, query and success response
 * (no `result` for 204); path parameters come from the path itself. `test/client-routes.test.ts`
 * fails when a server route has no entry here, or an entry differs in method, path or access.
 */
export const routes = {
  // auth
  register: post('/api/auth/register', 'public')<{
    body: typeof auth.RegisterBody;
    result: typeof auth.AuthResult;
  }>(),
  login: post('/api/auth/login', 'public')<{
    body: typeof auth.LoginBody;
    result: typeof auth.AuthResult;
  }>(),
  refresh: post('/api/auth/refresh', 'public')<{
    body: typeof auth.RefreshBody;
    result: typeof auth.TokenPair;
  }>(),
  logout: post('/api/auth/logout')<{ body: typeof auth.LogoutBody }>(),
  me: get('/api/auth/me')<{ result: typeof auth.MeResult }>(),
  updateMe: patch('/api/auth/me')<{
    body: typeof auth.UpdateMeBody;
    result: typeof auth.MeResult;
  }>(),
  // users
  listUsers: get('/api/user/list')<{
    query: typeof users.UserListQuery;
    result: typeof users.UserListPage;
  }>(),
  searchMessages: get('/api/search/messages')<{
    query: typeof search.SearchQuery;
    result: typeof search.SearchPage;
  }>(),
  onlineUsers: get('/api/user/online')<{ result: typeof users.OnlineUsers }>(),
  onlineCount: get('/api/user/online/count')<{ result: typeof users.OnlineCount }>(),
  userOnline: get('/api/user/:id/online')<{ result: typeof users.UserOnline }>(),
  // conversations and groups
  listConversations: get('/api/conversations')<{
    query: typeof conv.ConversationListQuery;
    result: typeof conv.ConversationPage;
  }>(),
  createConversation: post('/api/conversations')<{
    body: typeof conv.CreateConversationBody;
    result: typeof conv.ConversationResult;
  }>(),
  getConversation: get('/api/conversations/:id')<{ result: typeof conv.ConversationResult }>(),
  renameGroup: patch('/api/conversations/:id')<{
    body: typeof conv.RenameBody;
    result: typeof conv.ConversationResult;
  }>(),
  addMembers: post('/api/conversations/:id/members')<{
    body: typeof conv.AddMembersBody;
    result: typeof conv.ConversationResult;
  }>(),
  removeMember: del('/api/conversations/:id/members/:userId')<object>(),
  setMemberRole: patch('/api/conversations/:id/members/:userId')<{
    body: typeof conv.RoleBody;
    result: typeof conv.ConversationResult;
  }>(),
  // messages
  history: get('/api/conversations/:id/messages')<{
    query: typeof msg.HistoryQuery;
    result: typeof msg.MessagePage;
  }>(),
  sendMessage: post('/api/conversations/:id/messages')<{
    body: typeof msg.SendMessageBody;
    result: typeof msg.MessageResult;
  }>(),
  markRead: post('/api/conversations/:id/read')<{ body: typeof msg.ReadBody }>(),
  sync: get('/api/sync')<{ query: typeof msg.SyncQuery; result: typeof msg.MessagePage }>(),
  editMessage: patch('/api/conversations/:id/messages/:messageId')<{
    body: typeof msg.EditMessageBody;
    result: typeof msg.MessageResult;
  }>(),
  deleteMessage: del('/api/conversations/:id/messages/:messageId')<object>(),
  addReaction: put('/api/conversations/:id/messages/:messageId/reactions/:emoji')<object>(),
  removeReaction: del('/api/conversations/:id/messages/:messageId/reactions/:emoji')<object>(),
  // operators
  planAutoMessages: post('/api/admin/auto-messages/plan', 'admin')<{
    body: typeof am.PlanBody;
    result: typeof am.PlanResult;
  }>(),
  queueAutoMessages: post('/api/admin/auto-messages/queue', 'admin')<{
    result: typeof am.QueueResult;
  }>(),
  autoMessage: get('/api/admin/auto-messages/:id', 'admin')<{
    result: typeof am.AutoMessageLifecycle;
  }>(),
  jobRuns: get('/api/admin/jobs/runs', 'admin')<{
    query: typeof jobs.RunsQuery;
    result: typeof jobs.RunsResult;
  }>(),
  queues: get('/api/admin/queues', 'admin')<{ result: typeof am.QueuesResult }>(),
  parkedJobs: get('/api/admin/queues/:queue/parked', 'admin')<{
    query: typeof q.ParkedQuery;
    result: typeof q.ParkedList;
  }>(),
  requeueParked: post('/api/admin/queues/:queue/parked/requeue', 'admin')<{
    body: typeof q.ParkedSelection;
    result: typeof q.RequeueResult;
  }>(),
  discardParked: del('/api/admin/queues/:queue/parked', 'admin')<{
    body: typeof q.ParkedSelection;
    result: typeof q.DiscardResult;
  }>(),
  stats: get('/api/admin/stats', 'admin')<{
    query: typeof stats.StatsQuery;
    result: typeof stats.StatsResult;
  }>(),
  runStatsHourly: post('/api/admin/stats/hourly', 'admin')<{
    result: typeof stats.JobTriggerResult;
  }>(),
  createWebhook: post('/api/admin/webhooks', 'admin')<{
    body: typeof hooks.CreateWebhookBody;
    result: typeof hooks.WebhookResult;
  }>(),
  webhooks: get('/api/admin/webhooks', 'admin')<{ result: typeof hooks.WebhookList }>(),
  deleteWebhook: del('/api/admin/webhooks/:id', 'admin')<object>(),
  webhookDeliveries: get('/api/admin/webhooks/:id/deliveries', 'admin')<{
    query: typeof hooks.DeliveriesQuery;
    result: typeof hooks.DeliveryList;
  }>(),
  runMediaCleanup: post('/api/admin/media/orphan-cleanup', 'admin')<{
    result: typeof stats.JobTriggerResult;
  }>(),
  runMediaOptimize: post('/api/admin/media/optimize', 'admin')<{
    result: typeof stats.JobTriggerResult;
  }>(),
  // uploads and tasks
  upload: post('/api/uploads')<{ form: true; result: typeof media.UploadResult }>(),
  attachment: get('/api/attachments/:id')<{ result: typeof media.AttachmentResult }>(),
  attachmentContent: get('/api/attachments/:id/content')<{
    query: typeof media.ContentQuery;
    blob: true;
  }>(),
  listTasks: get('/api/tasks')<{
    query: typeof tasks.TaskListQuery;
    result: typeof tasks.TaskPage;
  }>(),
  task: get('/api/tasks/:id')<{ result: typeof tasks.TaskResult }>(),
  cancelTask: post('/api/tasks/:id/cancel')<{ result: typeof tasks.TaskResult }>(),
};

export type Routes = typeof routes;
export type RouteName = keyof Routes;

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
/** Who may call a route, as on the server: `public` routes are called without a token. */
export type Access = 'public' | 'user' | 'admin';

/** The contract schemas of one route (types only). */
export interface RouteTypes {
  body?: z.ZodType;
  query?: z.ZodType;
  result?: z.ZodType;
  /** A multipart upload: the body is a FormData. */
  form?: true;
  /** A download: resolves with a Blob. */
  blob?: true;
}

export interface Route<P extends string = string, T extends RouteTypes = RouteTypes> {
  readonly method: Method;
  readonly path: P;
  readonly access: Access;
  /** Never set: carries the schemas' types. */
  readonly types?: T;
}

function define(method: Method) {
  return <P extends string>(path: P, access: Access = 'user') =>
    <T extends RouteTypes>(): Route<P, T> => ({ method, path, access });
}
function get<P extends string>(path: P, access?: Access) {
  return define('get')(path, access);
}
function post<P extends string>(path: P, access?: Access) {
  return define('post')(path, access);
}
function put<P extends string>(path: P, access?: Access) {
  return define('put')(path, access);
}
function patch<P extends string>(path: P, access?: Access) {
  return define('patch')(path, access);
}
function del<P extends string>(path: P, access?: Access) {
  return define('delete')(path, access);
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** `/a/:id/b/:userId` → `{ id: string; userId: string }`. */
export type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? { [K in Name]: string }
    : object;

type ParamsPart<P extends string> = keyof PathParams<P> extends never
  ? object
  : { params: Simplify<PathParams<P>> };
/** A part is optional when the schema accepts `undefined` or every field is optional. */
type SchemaPart<K extends string, S> = S extends z.ZodType
  ? undefined extends z.input<S>
    ? { [_ in K]?: z.input<S> }
    : object extends z.input<S>
      ? { [_ in K]?: z.input<S> }
      : { [_ in K]: z.input<S> }
  : object;

/** What a call of route `R` takes: `{ params?, query?, body? }` as the route needs them. */
export type RouteInput<R> =
  R extends Route<infer P, infer T>
    ? Simplify<
        ParamsPart<P> &
          SchemaPart<'query', T['query']> &
          (T['form'] extends true ? { body: FormData } : SchemaPart<'body', T['body']>)
      >
    : never;

/** What a successful call of route `R` resolves with (`undefined` for 204 routes). */
export type RouteResult<R> =
  R extends Route<string, infer T>
    ? T['blob'] extends true
      ? Blob
      : T['result'] extends z.ZodType
        ? z.output<T['result']>
        : undefined
    : never;

/** True when a call may omit its input altogether. */
type AllOptional<T> = object extends T ? true : false;

/** One method per route: `client.api.sendMessage({ params: { id }, body: { content } })`. */
export type Api = {
  [K in RouteName]: AllOptional<RouteInput<Routes[K]>> extends true
    ? (input?: RouteInput<Routes[K]>, options?: CallOptions) => Promise<RouteResult<Routes[K]>>
    : (input: RouteInput<Routes[K]>, options?: CallOptions) => Promise<RouteResult<Routes[K]>>;
};

export interface CallOptions {
  signal?: AbortSignal;
  /** Sees the final response's status and headers (e.g. 200 "already sent" vs 201 "sent"). */
  onResponse?: (response: { status: number; headers: Headers }) => void;
}

/** The URL of a route with its path parameters filled in (each one URL-encoded). */
export function routeUrl(
  path: string,
  params: Record<string, string> | undefined,
  query: Record<string, unknown> | undefined,
): string {
  const filled = path.replace(/:(\w+)/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new TypeError(`missing path parameter ${name} for ${path}`);
    return encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  const qs = search.toString();
  return qs ? `${filled}?${qs}` : filled;
}

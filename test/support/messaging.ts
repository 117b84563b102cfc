import type { MessageView } from '../../src/contracts/messages.js';
import { isolatedEnv, startTestApp, type TestApp } from './app.js';
import { clientAs, directConversation, http, registerUser, type Registered } from './http.js';

/** Creates a group owned by `owner`; returns its id. */
export async function createGroup(
  url: string,
  owner: Registered,
  members: Registered[],
  name = 'group',
): Promise<string> {
  let status = 0;
  const { conversation } = await (
    await clientAs(url, owner)
  ).api.createConversation(
    { body: { participantIds: members.map((m) => m.user.id), name } },
    { onResponse: (r) => (status = r.status) },
  );
  if (status !== 201) throw new Error(`group answered ${status}, not 201`);
  return conversation.id;
}

/** Sends over REST; returns the stored message. */
export async function sendText(
  url: string,
  user: Registered,
  conversationId: string,
  content: string,
): Promise<MessageView> {
  let status = 0;
  const { message } = await (
    await clientAs(url, user)
  ).api.sendMessage(
    { params: { id: conversationId }, body: { content } },
    { onResponse: (r) => (status = r.status) },
  );
  if (status !== 201) throw new Error(`send answered ${status}, not 201`);
  return message;
}

/** The newest page of history as `user` sees it (status too, for access checks). */
export async function history(url: string, user: Registered, conversationId: string) {
  return http<{ items: MessageView[]; nextCursor: string | null }>(
    url,
    'GET',
    `/api/conversations/${conversationId}/messages?limit=100`,
    { token: user.accessToken },
  );
}

/** One message as `user` sees it in history. */
export async function seenAs(
  url: string,
  user: Registered,
  conversationId: string,
  messageId: string,
): Promise<MessageView | undefined> {
  return (await history(url, user, conversationId)).body.items.find((m) => m.id === messageId);
}

export function messagePath(conversationId: string, messageId: string): string {
  return `/api/conversations/${conversationId}/messages/${messageId}`;
}

export function reactionPath(conversationId: string, messageId: string, emoji: string): string {
  return `${messagePath(conversationId, messageId)}/reactions/${encodeURIComponent(emoji)}`;
}

/** Calls the API as `who`, with an optional JSON body. */
export function callAs(url: string, who: Registered, method: string, path: string, body?: unknown) {
  return http<Record<string, unknown>>(url, method, path, {
    token: who.accessToken,
    ...(body === undefined ? {} : { body }),
  });
}

/** `actor` removes `member` from a group (DELETE …/members/:userId); the response, unchecked. */
export function removeMember(
  url: string,
  actor: Registered,
  conversationId: string,
  member: Registered,
) {
  return callAs(
    url,
    actor,
    'DELETE',
    `/api/conversations/${conversationId}/members/${member.user.id}`,
  );
}

/** The error code of a refused request. */
export function errorCode(res: { body: Record<string, unknown> }): string | undefined {
  return (res.body.error as { code?: string } | undefined)?.code;
}

type AtLeastThree = [Registered, Registered, Registered, ...Registered[]];

/** Three or more freshly registered users (enough for a group). */
export async function registerUsers(url: string, n = 3): Promise<AtLeastThree> {
  const users: Registered[] = [];
  for (let i = 0; i < Math.max(3, n); i += 1) users.push(await registerUser(url));
  return users as AtLeastThree;
}

/**
 * The cast of the messaging tests, on one app: alice, bob, carol and dave; a direct
 * conversation of alice and bob; a group alice owns with bob and carol (dave is in neither).
 */
export interface Cast {
  env: Record<string, string>;
  app: TestApp;
  alice: Registered;
  bob: Registered;
  carol: Registered;
  dave: Registered;
  direct: string;
  group: string;
}

/** Starts an app whose message rate limit the tests never reach, with the cast above. */
export async function startWithCast(groupName = 'group'): Promise<Cast> {
  const env = await isolatedEnv({ RATE_LIMIT_MESSAGES_PER_MINUTE: '100000' });
  const app = await startTestApp(env);
  const alice = await registerUser(app.url);
  const bob = await registerUser(app.url);
  const carol = await registerUser(app.url);
  const dave = await registerUser(app.url);
  const direct = await directConversation(app.url, alice, bob);
  const group = await createGroup(app.url, alice, [bob, carol], groupName);
  return { env, app, alice, bob, carol, dave, direct, group };
}

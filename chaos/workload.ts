/**
 * The chaos run's users: each a @parley/client with its socket (reconnect, re-join, catch-up
 * with dedupe, outbox resend with clientMessageId), chatting in direct and group conversations.
 * Every client keeps its own log: what it sent and had acknowledged, what it received.
 */
import {
  createClient,
  type MessageView,
  type ParleyClient,
  type ParleySocket,
} from '@parley/client';

export interface ChatUser {
  readonly index: number;
  readonly userId: string;
  readonly client: ParleyClient;
  readonly socket: ParleySocket;
  conversations: string[];
  /** Message id → the message, each once (the SDK dedupes live, caught-up and acked copies). */
  readonly received: Map<string, MessageView>;
  /** Sends whose ack arrived: content → stored message id. */
  readonly acked: Map<string, string>;
  /** Sends refused for good (the SDK dropped them from its outbox), with the error code. */
  readonly refused: Map<string, string>;
  readonly pending: Set<Promise<unknown>>;
}

export interface Population {
  readonly users: ChatUser[];
  readonly admin: ChatUser;
  readonly groups: number;
  readonly directs: number;
}

export const PASSWORD = 'chaos-password-1';
const GROUP_SIZE = 5;

/** Registers `count` users (the first an admin), opens their conversations and sockets. */
export async function populate(
  baseUrl: string,
  runId: string,
  count: number,
  adminEmail: string,
): Promise<Population> {
  const users = await inBatches(count, 8, async (index) => {
    const client = createClient({ baseUrl });
    const email = index === 0 ? adminEmail : `chaos-${runId}-${index}@example.test`;
    const result = await client.register({
      username: `c${runId}_${index}`.toLowerCase(),
      email,
      password: PASSWORD,
    });
    const socket = client.connect({ transports: ['websocket'], ackTimeoutMs: 15_000 });
    const user: ChatUser = {
      index,
      userId: result.user.id,
      client,
      socket,
      conversations: [],
      received: new Map(),
      acked: new Map(),
      refused: new Map(),
      pending: new Set(),
    };
    socket.on('message_received', ({ message }) => user.received.set(message.id, message));
    return user;
  });
  // Direct conversations around a ring, groups of five neighbours.
  let directs = 0;
  await inBatches(count, 8, async (i) => {
    const me = users[i] as ChatUser;
    const next = users[(i + 1) % count] as ChatUser;
    if (count < 2 || (count === 2 && i === 1)) return;
    const { conversation } = await me.client.api.createConversation({
      body: { participantId: next.userId },
    });
    me.conversations.push(conversation.id);
    next.conversations.push(conversation.id);
    directs += 1;
  });
  let groups = 0;
  const starts = Array.from({ length: Math.floor(count / GROUP_SIZE) }, (_, g) => g * GROUP_SIZE);
  await inBatches(starts.length, 8, async (g) => {
    const members = users.slice(starts[g], (starts[g] ?? 0) + GROUP_SIZE);
    const [owner, ...others] = members as [ChatUser, ...ChatUser[]];
    const { conversation } = await owner.client.api.createConversation({
      body: { participantIds: others.map((u) => u.userId), name: `chaos group ${g}` },
    });
    for (const member of members) member.conversations.push(conversation.id);
    groups += 1;
  });
  for (const user of users) user.socket.open();
  await Promise.all(users.map((user) => user.socket.whenConnected(60_000)));
  await Promise.all(users.flatMap((user) => user.conversations.map((id) => user.socket.join(id))));
  return { users, admin: users[0] as ChatUser, groups, directs };
}

/** One send through the outbox; its content is unique, so the database can be matched to it. */
export function sendOne(user: ChatUser, runId: string, seq: number): void {
  const conversationId = user.conversations[seq % user.conversations.length];
  if (!conversationId) return;
  const content = `chaos ${runId} u${user.index} n${seq}`;
  const sent = user.socket.send(conversationId, content).then(
    (message) => void user.acked.set(content, message.id),
    (error: unknown) => void user.refused.set(content, codeOf(error)),
  );
  user.pending.add(sent);
  void sent.finally(() => user.pending.delete(sent));
}

/**
 * Every user sends about once per `intervalMs` (jittered) until `signal` aborts. Sends are not
 * awaited: during an outage they wait in the outbox, which is the behaviour under test.
 */
export async function chat(
  users: ChatUser[],
  runId: string,
  intervalMs: number,
  signal: AbortSignal,
) {
  let seq = 0;
  await Promise.all(
    users.map(async (user) => {
      await sleep(Math.random() * intervalMs);
      while (!signal.aborted) {
        seq += 1;
        sendOne(user, runId, seq);
        await sleep(intervalMs * (0.5 + Math.random()));
      }
    }),
  );
}

/** Waits until every send is acknowledged or refused, or `timeoutMs` passes. */
export async function drainOutboxes(users: ChatUser[], timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = users.reduce((n, user) => n + user.pending.size, 0);
    if (pending === 0 || Date.now() > deadline) return pending;
    await sleep(250);
  }
}

export function closeAll(users: ChatUser[]): void {
  for (const user of users) user.client.close();
}

function codeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String(error.code)
    : String(error);
}

async function inBatches<T>(
  count: number,
  width: number,
  fn: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) {
        const i = next;
        next += 1;
        out[i] = await retrying(() => fn(i));
      }
    }),
  );
  return out;
}

/** Set-up calls ride out a slow start (a 503 while an instance warms up). */
async function retrying<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await sleep(500 * attempt);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

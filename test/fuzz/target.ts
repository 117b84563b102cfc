import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { isolatedEnv, registerAdmin, startTestApp, type TestApp } from '../support/app.js';
import { createGroup, registerUsers, sendText } from '../support/messaging.js';
import { directConversation, http, registerUser, type Registered } from '../support/http.js';
import { connectSocket, nextEvent, type ClientSocket } from '../support/sockets.js';
import { DatabaseSnapshots } from './db-snapshot.js';
import type { OpenApiDocument } from './http-cases.js';
import { KnownIds } from './known-ids.js';
import { Credentials, Fuzzer, holds } from './runner.js';

/**
 * What both fuzz files share (issue 20): the seed and case budget, and one app with its users,
 * conversations and a bystander. FUZZ_SEED and FUZZ_CASES (for the two files together) change
 * the seed and the number of cases; FUZZ_SURVEY=<file> writes every problem there instead of
 * stopping at the first (for working through a run's findings). The suite's per-file timeout
 * bounds each file, which is why refused and valid input are two files.
 */
export const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const CASES = Number(process.env.FUZZ_CASES ?? 10_000);

/** Runs of `batch` cases that make up `fraction` of the whole budget. */
export function runsFor(fraction: number, batch: number): number {
  return Math.max(1, Math.ceil((CASES * fraction) / batch));
}

const NEVER = '0 0 1 1 *';

export interface FuzzTarget {
  app: TestApp;
  fuzzer: Fuzzer;
  credentials: Credentials;
  snapshots: DatabaseSnapshots;
  /** Someone in a conversation of their own, who must stay connected and keep receiving. */
  bystander: { socket: ClientSocket; conversation: string; sender: Registered };
  /** Sockets that dropped and should not have. */
  disconnects: string[];
  /** Batches of drawn cases, all judged; `then` runs after each batch that passed. */
  everyBatch(
    kind: 'valid' | 'refused',
    size: number,
    numRuns: number,
    then?: () => Promise<void>,
  ): Promise<void>;
  /** The bystander still receives; nothing was logged or reported as an error; prints the count. */
  finalChecks(t: TestContext, what: string, fraction: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFuzzTarget(): Promise<FuzzTarget> {
  const env = await isolatedEnv({
    RATE_LIMIT_MESSAGES_PER_MINUTE: '1000000',
    RATE_LIMIT_SOCKET_PER_SECOND: '1000000',
    RATE_LIMIT_SOCKET_BURST: '1000000',
    RATE_LIMIT_GROUPS_PER_HOUR: '1000000',
    RATE_LIMIT_UPLOADS_PER_MINUTE: '1000000',
    // Scheduled jobs write run records: only the cases may change the database.
    AUTO_MESSAGE_PLAN_CRON: NEVER,
    AUTO_MESSAGE_QUEUE_CRON: NEVER,
    // No worker: its event relay clears outboxes whenever it runs, so a snapshot could change
    // between batches with no case to blame. Without it every event a case emits stays in its
    // document's outbox and is compared.
    ROLE: 'api',
  });
  const loud: { level: number; msg?: string }[] = [];
  const reported: unknown[] = [];
  const logger = pino(
    { level: 'error' },
    { write: (line: string) => void loud.push(JSON.parse(line) as { level: number }) },
  );
  const app = await startTestApp(env, { logger, reportError: (e) => void reported.push(e) });
  const snapshots = await DatabaseSnapshots.open(env);

  const admin = await registerAdmin(app.url, env);
  const [member, other1, other2] = await registerUsers(app.url, 3);
  const [watcher, sender] = await registerUsers(app.url, 3);
  const spare = await registerUser(app.url);
  const direct = await directConversation(app.url, admin, member);
  const group = await createGroup(app.url, admin, [member, other1, other2]);
  const conversation = await directConversation(app.url, sender, watcher);
  const known = new KnownIds();
  for (const u of [admin, member, other1, other2, watcher]) known.add('user', u.user.id);
  for (const id of [direct, group, conversation]) known.add('conversation', id);
  for (const id of [direct, group]) {
    for (const text of ['hello', 'second', 'third'])
      known.harvest(await sendText(app.url, admin, id, text), 'message');
  }
  const disconnects: string[] = [];
  const socket = await connectSocket(app.url, admin.accessToken);
  const bystander = {
    socket: await connectSocket(app.url, watcher.accessToken),
    conversation,
    sender,
  };
  socket.on('disconnect', (why) => void disconnects.push(`fuzzing socket: ${why}`));
  bystander.socket.on('disconnect', (why) => void disconnects.push(`bystander: ${why}`));
  const credentials = new Credentials(app.url, admin, member, spare);
  const fuzzer = new Fuzzer({
    url: app.url,
    doc: (await http<OpenApiDocument>(app.url, 'GET', '/api/openapi.json')).body,
    known,
    credentials,
    socket,
    concurrency: 8,
    survey: process.env.FUZZ_SURVEY,
  });

  return {
    app,
    fuzzer,
    credentials,
    snapshots,
    bystander,
    disconnects,
    everyBatch(kind, size, numRuns, then = () => Promise.resolve()) {
      const batches = fc.array(fuzzer.arbitrary(kind), { minLength: size, maxLength: size });
      const property = fc.asyncProperty(batches, async (batch) => {
        const problems = await fuzzer.run(batch);
        assert.deepEqual(problems.slice(0, 5), [], `${problems.length} cases failed`);
        await then();
      });
      return holds(property, { seed: SEED, numRuns });
    },
    async finalChecks(t, what, fraction) {
      const text = `still there after ${fuzzer.sent} cases?`;
      const seen = nextEvent(
        bystander.socket,
        'message_received',
        (m) => m.message.content === text,
      );
      const message = await sendText(app.url, sender, conversation, text);
      assert.equal((await seen).message.id, message.id);
      assert.deepEqual(disconnects, []);
      assert.deepEqual(
        loud.map((l) => l.msg),
        [],
        'the server logged errors',
      );
      assert.equal(reported.length, 0, 'the server reported errors');
      const answers = [...fuzzer.answers].sort().map(([k, n]) => `${k}=${n}`);
      t.diagnostic(`fuzz: cases=${fuzzer.sent} seed=${SEED} (${what}; http ${answers.join(' ')})`);
      const expected = Math.floor(CASES * fraction);
      assert.ok(fuzzer.sent >= expected, `ran ${fuzzer.sent} cases, fewer than ${expected}`);
    },
    async close() {
      fuzzer.close();
      await snapshots.close();
    },
  };
}

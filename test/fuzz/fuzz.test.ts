import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { createGroup, registerUsers, sendText } from '../support/messaging.js';
import {
  directConversation,
  http,
  rawHttp,
  registerAdmin,
  registerUser,
  type Registered,
} from '../support/http.js';
import { connectError, connectSocket, nextEvent, type ClientSocket } from '../support/sockets.js';
import { DatabaseSnapshots, differences } from './db-snapshot.js';
import { rawRequestCase, type OpenApiDocument } from './http-cases.js';
import { KnownIds } from './known-ids.js';
import { Credentials, Fuzzer, holds } from './runner.js';
import { rawFrameCase, refusedHandshake } from './socket-cases.js';
import { errorBodyProblem } from './verdicts.js';
/**
 * The fuzzer (issue 20): inputs for every REST route, drawn from the served OpenAPI document, and
 * for every client Socket.IO event, drawn from the socket contract, with a fixed seed. Refused
 * input must get a 4xx (or an error ack) with the SPEC §7 body and change nothing in the
 * database; valid-shaped input must never get a 5xx and must match the documented shapes;
 * frames below Socket.IO may drop their own connection but no one else's.
 * FUZZ_SEED and FUZZ_CASES change the seed and the number of cases; FUZZ_SURVEY=<file> writes
 * every problem there instead of stopping at the first (for working through a run's findings).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_201);
const CASES = Number(process.env.FUZZ_CASES ?? 10_000);
const share = (fraction: number, batch: number) =>
  Math.max(1, Math.ceil((CASES * fraction) / batch));
const REFUSED_BATCH = 50;
const VALID_BATCH = 25;
const RAW_BATCH = 10;
const plan = {
  refusedRuns: share(0.62, REFUSED_BATCH),
  rawRuns: share(0.02, RAW_BATCH),
  handshakeRuns: share(0.01, RAW_BATCH),
  rawRequestRuns: share(0.01, RAW_BATCH),
  validRuns: share(0.34, VALID_BATCH),
};
const CONCURRENCY = 8;
const NEVER = '0 0 1 1 *';

// Ten thousand cases take a minute or two: more than the suite's per-test default on a busy machine.
describe(
  'fuzz: every route and socket event, valid, boundary and hostile',
  { timeout: 600_000 },
  () => {
    let app: TestApp;
    let snapshots: DatabaseSnapshots;
    let fuzzer: Fuzzer;
    let credentials: Credentials;
    let bystander: { socket: ClientSocket; conversation: string; sender: Registered };
    const disconnects: string[] = [];
    const loud: { level: number; msg?: string }[] = [];
    const reported: unknown[] = [];

    before(async () => {
      const env = await isolatedEnv({
        RATE_LIMIT_MESSAGES_PER_MINUTE: '1000000',
        RATE_LIMIT_SOCKET_PER_SECOND: '1000000',
        RATE_LIMIT_SOCKET_BURST: '1000000',
        RATE_LIMIT_GROUPS_PER_HOUR: '1000000',
        RATE_LIMIT_UPLOADS_PER_MINUTE: '1000000',
        // Scheduled jobs write run records: only the cases may change the database.
        AUTO_MESSAGE_PLAN_CRON: NEVER,
        AUTO_MESSAGE_QUEUE_CRON: NEVER,
      });
      const logger = pino(
        { level: 'error' },
        { write: (line: string) => void loud.push(JSON.parse(line) as { level: number }) },
      );
      app = await startTestApp(env, { logger, reportError: (e) => void reported.push(e) });
      snapshots = await DatabaseSnapshots.open(env);

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
      const socket = await connectSocket(app.url, admin.accessToken);
      bystander = {
        socket: await connectSocket(app.url, watcher.accessToken),
        conversation,
        sender,
      };
      socket.on('disconnect', (why) => void disconnects.push(`fuzzing socket: ${why}`));
      bystander.socket.on('disconnect', (why) => void disconnects.push(`bystander: ${why}`));
      credentials = new Credentials(app.url, admin, member, spare);
      fuzzer = new Fuzzer({
        url: app.url,
        doc: (await http<OpenApiDocument>(app.url, 'GET', '/api/openapi.json')).body,
        known,
        credentials,
        socket,
        concurrency: CONCURRENCY,
        survey: process.env.FUZZ_SURVEY,
      });
    });

    after(async () => {
      fuzzer?.close();
      await snapshots?.close();
    });

    /** Batches of drawn cases, all judged; `then` runs after each batch that passed. */
    const everyBatch = (
      kind: 'valid' | 'refused',
      size: number,
      numRuns: number,
      then: () => Promise<void> = () => Promise.resolve(),
    ) => {
      const batches = fc.array(fuzzer.arbitrary(kind), { minLength: size, maxLength: size });
      const property = fc.asyncProperty(batches, async (batch) => {
        const problems = await fuzzer.run(batch);
        assert.deepEqual(problems.slice(0, 5), [], `${problems.length} cases failed`);
        await then();
      });
      return holds(property, { seed: SEED, numRuns });
    };

    test('refused input: a 4xx or error ack with the SPEC §7 body, and nothing stored', async () => {
      let before = await snapshots.settled();
      await everyBatch('refused', REFUSED_BATCH, plan.refusedRuns, async () => {
        const after = await snapshots.take();
        assert.deepEqual(differences(before, after), [], 'refused input changed the database');
        before = after;
      });
    });

    test('frames below Socket.IO drop at most their own connection', async () => {
      const raw = await registerUser(app.url);
      let rawSocket = await connectSocket(app.url, raw.accessToken);
      const batches = fc.array(rawFrameCase(), { minLength: RAW_BATCH, maxLength: RAW_BATCH });
      await holds(
        fc.asyncProperty(batches, async (frames) => {
          for (const { frame } of frames) {
            if (!rawSocket.connected) rawSocket = await connectSocket(app.url, raw.accessToken);
            const gone = new Promise((resolve) => rawSocket.once('disconnect', resolve));
            rawSocket.io.engine.send(frame);
            fuzzer.sent += 1;
            // Whatever the server made of the frame, it has done it once a later event is
            // answered on the same connection, or the connection is gone.
            const probe = rawSocket
              .timeout(10_000)
              .emitWithAck('typing', { conversationId: bystander.conversation, isTyping: false });
            await Promise.race([probe.catch(() => undefined), gone]);
          }
          assert.deepEqual(disconnects, []);
          assert.equal((await http(app.url, 'GET', '/health/live')).status, 200);
        }),
        { seed: SEED, numRuns: plan.rawRuns },
      );
      rawSocket.disconnect();
    });

    test('handshakes without a token of ours are refused, and no one else drops', async () => {
      const batches = fc.array(refusedHandshake(credentials.strangers()), {
        minLength: RAW_BATCH,
        maxLength: RAW_BATCH,
      });
      await holds(
        fc.asyncProperty(batches, async (handshakes) => {
          for (const handshake of handshakes) {
            const refusal = await connectError(app.url, undefined, handshake);
            fuzzer.sent += 1;
            assert.equal(
              refusal,
              'unauthorized',
              `${handshake.mutation}: ${JSON.stringify(handshake).slice(0, 200)}`,
            );
          }
          assert.deepEqual(disconnects, []);
        }),
        { seed: SEED, numRuns: plan.handshakeRuns },
      );
    });

    test('requests the HTTP parser refuses get the SPEC §7 body too', async () => {
      const batches = fc.array(rawRequestCase(), { minLength: RAW_BATCH, maxLength: RAW_BATCH });
      await holds(
        fc.asyncProperty(batches, async (requests) => {
          for (const { request, mutation } of requests) {
            const res = await rawHttp(app.url, request);
            fuzzer.sent += 1;
            const what = `${mutation}: ${JSON.stringify(request.slice(0, 120))}`;
            assert.ok(res && res.status >= 400 && res.status < 500, `${what} got ${res?.status}`);
            assert.equal(errorBodyProblem(res.status, res.contentType, res.body), null, what);
          }
        }),
        { seed: SEED, numRuns: plan.rawRequestRuns },
      );
    });

    test('valid-shaped input: never a 5xx, and the documented shapes', async () => {
      await everyBatch('valid', VALID_BATCH, plan.validRuns);
    });

    test('no one else was disconnected, nothing was logged as an error', async (t) => {
      const text = `still there after ${fuzzer.sent} cases?`;
      const seen = nextEvent(
        bystander.socket,
        'message_received',
        (m) => m.message.content === text,
      );
      const message = await sendText(app.url, bystander.sender, bystander.conversation, text);
      assert.equal((await seen).message.id, message.id);
      assert.deepEqual(disconnects, []);
      assert.deepEqual(
        loud.map((l) => l.msg),
        [],
        'the server logged errors',
      );
      assert.equal(reported.length, 0, 'the server reported errors');
      const answers = [...fuzzer.answers].sort().map(([k, n]) => `${k}=${n}`);
      t.diagnostic(`fuzz: cases=${fuzzer.sent} seed=${SEED} (http ${answers.join(' ')})`);
      assert.ok(fuzzer.sent >= CASES, `ran ${fuzzer.sent} cases, fewer than ${CASES}`);
    });
  },
);

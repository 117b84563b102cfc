import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { http, rawHttp, registerUser } from '../support/http.js';
import { connectError, connectSocket } from '../support/sockets.js';
import { differences } from './db-snapshot.js';
import { rawRequestCase } from './http-cases.js';
import { holds } from './runner.js';
import { rawFrameCase, refusedHandshake } from './socket-cases.js';
import { runsFor, SEED, startFuzzTarget, type FuzzTarget } from './target.js';
import { errorBodyProblem } from './verdicts.js';

/**
 * The fuzzer's hostile half (issue 20): inputs every REST route (from the served OpenAPI document)
 * and every client Socket.IO event (from the socket contract) must refuse, plus raw Socket.IO
 * frames, handshakes and HTTP bytes. Refused input gets a 4xx (or an error ack) with the SPEC §7
 * body and changes nothing in the database; nothing drops anyone else. See target.ts.
 */
const BATCH = 50;
const RAW_BATCH = 10;
/** Two thirds of the budget (valid.test.ts runs the rest). */
const SHARE = { refused: 0.62, frames: 0.02, handshakes: 0.01, requests: 0.01 };

describe('fuzz: refused input on every route and socket event', () => {
  let target: FuzzTarget;
  before(async () => void (target = await startFuzzTarget()));
  after(() => target?.close());

  test('a 4xx or error ack with the SPEC §7 body, and nothing stored', async () => {
    let before = await target.snapshots.settled();
    await target.everyBatch('refused', BATCH, runsFor(SHARE.refused, BATCH), async () => {
      const after = await target.snapshots.take();
      assert.deepEqual(differences(before, after), [], 'refused input changed the database');
      before = after;
    });
  });

  test('frames below Socket.IO drop at most their own connection', async () => {
    const { app, fuzzer, bystander, disconnects } = target;
    const raw = await registerUser(app.url);
    let rawSocket = await connectSocket(app.url, raw.accessToken);
    const batches = fc.array(rawFrameCase(), { minLength: RAW_BATCH, maxLength: RAW_BATCH });
    const property = fc.asyncProperty(batches, async (frames) => {
      for (const { frame } of frames) {
        if (!rawSocket.connected) rawSocket = await connectSocket(app.url, raw.accessToken);
        const gone = new Promise((resolve) => rawSocket.once('disconnect', resolve));
        rawSocket.io.engine.send(frame);
        fuzzer.sent += 1;
        // Whatever the server made of the frame, it has done it once a later event is answered
        // on the same connection, or the connection is gone.
        const probe = rawSocket
          .timeout(10_000)
          .emitWithAck('typing', { conversationId: bystander.conversation, isTyping: false });
        await Promise.race([probe.catch(() => undefined), gone]);
      }
      assert.deepEqual(disconnects, []);
      assert.equal((await http(app.url, 'GET', '/health/live')).status, 200);
    });
    await holds(property, { seed: SEED, numRuns: runsFor(SHARE.frames, RAW_BATCH) });
    rawSocket.disconnect();
  });

  test('handshakes without a token of ours are refused, and no one else drops', async () => {
    const { app, fuzzer, credentials, disconnects } = target;
    const handshakes = refusedHandshake(credentials.strangers());
    const batches = fc.array(handshakes, { minLength: RAW_BATCH, maxLength: RAW_BATCH });
    const property = fc.asyncProperty(batches, async (batch) => {
      for (const handshake of batch) {
        const refusal = await connectError(app.url, undefined, handshake);
        fuzzer.sent += 1;
        const what = `${handshake.mutation}: ${JSON.stringify(handshake).slice(0, 200)}`;
        assert.equal(refusal, 'unauthorized', what);
      }
      assert.deepEqual(disconnects, []);
    });
    await holds(property, { seed: SEED, numRuns: runsFor(SHARE.handshakes, RAW_BATCH) });
  });

  test('requests the HTTP parser refuses get the SPEC §7 body too', async () => {
    const { app, fuzzer } = target;
    const batches = fc.array(rawRequestCase(), { minLength: RAW_BATCH, maxLength: RAW_BATCH });
    const property = fc.asyncProperty(batches, async (requests) => {
      for (const { request, mutation } of requests) {
        const res = await rawHttp(app.url, request);
        fuzzer.sent += 1;
        const what = `${mutation}: ${JSON.stringify(request.slice(0, 120))}`;
        assert.ok(res && res.status >= 400 && res.status < 500, `${what} got ${res?.status}`);
        assert.equal(errorBodyProblem(res.status, res.contentType, res.body), null, what);
      }
    });
    await holds(property, { seed: SEED, numRuns: runsFor(SHARE.requests, RAW_BATCH) });
  });

  test('no one else was disconnected, nothing was logged as an error', async (t) => {
    const total = SHARE.refused + SHARE.frames + SHARE.handshakes + SHARE.requests;
    await target.finalChecks(t, 'refused input', total);
  });
});

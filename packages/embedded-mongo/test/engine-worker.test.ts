import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { pino, type Logger } from 'pino';
import { startEmbeddedMongo } from '../src/index.js';
import { startWorkerEngine } from '../src/worker-host.js';
import type { EngineSettings } from '../src/engine.js';
import { waitFor } from './support.js';

interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger (it fits EngineLogger as it is) whose records are kept in memory. */
function capturingLogger(level = 'debug'): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) records.push(JSON.parse(line) as LogRecord);
      done();
    },
  });
  return { logger: pino({ level }, stream), records };
}

const settings: EngineSettings = {
  port: 0,
  host: '127.0.0.1',
  dataDir: undefined,
  snapshotJournalBytes: 32 * 1024 * 1024,
  ttlIntervalMs: 60_000,
};

void describe('engine: worker thread', () => {
  void it('serves from a worker by default, leaving no server on the calling thread', async () => {
    const mongo = await startEmbeddedMongo();
    try {
      assert.ok(
        !process.getActiveResourcesInfo().includes('TCPServerWrap'),
        'no listening socket on this thread',
      );
      const client = await new MongoClient(mongo.uri).connect();
      const coll = client.db('worker_default').collection('docs');
      await coll.insertMany([{ a: 1 }, { a: 2 }]);
      assert.deepEqual(
        await coll
          .find({}, { projection: { _id: 0 } })
          .sort({ a: -1 })
          .toArray(),
        [{ a: 2 }, { a: 1 }],
      );
      await client.close();
    } finally {
      await mongo.stop();
    }
    await mongo.stop();
    assert.ok(
      !process.getActiveResourcesInfo().includes('MessagePort'),
      'the worker is gone after stop()',
    );
  });

  void it("still runs on the calling thread with thread: 'inline'", async () => {
    const mongo = await startEmbeddedMongo({ thread: 'inline' });
    try {
      assert.ok(process.getActiveResourcesInfo().includes('TCPServerWrap'));
      const client = await new MongoClient(mongo.uri).connect();
      const coll = client.db('worker_inline').collection('docs');
      await coll.insertOne({ a: 1 });
      assert.equal(await coll.countDocuments({ a: 1 }), 1);
      await client.close();
    } finally {
      await mongo.stop();
    }
  });

  void it('rejects an unknown thread mode', async () => {
    // @ts-expect-error a JavaScript caller can pass anything
    await assert.rejects(startEmbeddedMongo({ thread: 'fork' }), TypeError);
  });

  void it('forwards the worker’s log records, fields and errors to the given logger', async () => {
    const { logger, records } = capturingLogger('debug');
    const mongo = await startEmbeddedMongo({ logger });
    const socket = net.connect(mongo.port, '127.0.0.1');
    await once(socket, 'connect');
    const header = Buffer.alloc(16);
    header.writeInt32LE(8, 0); // shorter than a header: malformed
    socket.write(header);
    await once(socket, 'close');
    await mongo.stop();
    const find = (msg: string): LogRecord | undefined => records.find((r) => r.msg === msg);
    assert.match(
      find(
        'embedded MongoDB is memory-only: data is lost on stop (give it a data directory to persist)',
      )?.msg ?? '',
      /memory-only/,
    );
    assert.equal(find('embedded MongoDB listening')?.port, mongo.port);
    const closing = find('closing connection: malformed message');
    assert.equal(closing?.level, 40);
    assert.equal(typeof closing?.connectionId, 'number');
    const err = closing?.err as { type?: string; message?: string } | undefined;
    assert.equal(err?.type, 'Error');
    assert.match(err?.message ?? '', /message length 8/);
    assert.equal(find('embedded MongoDB stopped')?.port, mongo.port);
  });

  void it('forwards nothing below the logger’s level', async () => {
    const { logger, records } = capturingLogger('warn');
    const mongo = await startEmbeddedMongo({ logger });
    await mongo.stop();
    assert.deepEqual(records, []);
  });

  void it('rejects the start promise with EADDRINUSE when the port is taken (both modes)', async () => {
    const first = await startEmbeddedMongo();
    try {
      for (const thread of ['worker', 'inline'] as const) {
        await assert.rejects(startEmbeddedMongo({ port: first.port, thread }), (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.equal((err as NodeJS.ErrnoException).code, 'EADDRINUSE');
          return true;
        });
      }
    } finally {
      await first.stop();
    }
  });

  void it('rejects stop() with the worker’s storage error, and the thread still ends', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'embedded-mongo-worker-'));
    try {
      const mongo = await startEmbeddedMongo({ dataDir });
      const client = await new MongoClient(mongo.uri).connect();
      await client.db('flushfail').collection('docs').insertOne({ a: 1 });
      await client.close();
      // The directory's lock file can no longer be removed: a directory stands in its place.
      await rm(path.join(dataDir, 'LOCK'));
      await mkdir(path.join(dataDir, 'LOCK', 'in-the-way'), { recursive: true });
      await assert.rejects(mongo.stop(), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(String((err as NodeJS.ErrnoException).code), /EISDIR/);
        return true;
      });
      assert.ok(!process.getActiveResourcesInfo().includes('MessagePort'), 'the worker is gone');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  void it('logs an uncaught error in the worker, and stop() then rejects with it', async () => {
    const { logger, records } = capturingLogger('info');
    const entry = new URL('./fixtures/worker-crash-after-ready.js', import.meta.url);
    const mongo = await startWorkerEngine(settings, logger, entry);
    await waitFor(
      async () => Promise.resolve(records.some((r) => r.level === 50)),
      5_000,
      'the crash log line',
    );
    const crashed = records.find((r) => r.level === 50);
    assert.match(crashed?.msg ?? '', /worker crashed/);
    assert.match(
      (crashed?.err as { message?: string } | undefined)?.message ?? '',
      /simulated engine bug/,
    );
    await assert.rejects(mongo.stop(), /simulated engine bug/);
    await assert.rejects(mongo.stop(), /simulated engine bug/, 'stop() stays idempotent');
  });

  void it('rejects the start promise when the worker dies before listening', async () => {
    const { logger, records } = capturingLogger('info');
    const entry = new URL('./fixtures/worker-crash-at-start.js', import.meta.url);
    await assert.rejects(startWorkerEngine(settings, logger, entry), /engine failed to load/);
    assert.ok(records.some((r) => r.level === 50 && /worker crashed/.test(r.msg)));
  });

  void it('does not keep the process alive after stop(), nor after a failed start', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/start-stop.js', import.meta.url));
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, [fixture], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    assert.equal(signal, null, `the child had to be killed: ${output.join('')}`);
    assert.equal(code, 0, output.join(''));
    assert.match(output.join(''), /stopped/);
  });
});

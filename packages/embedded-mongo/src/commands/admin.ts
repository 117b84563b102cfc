import { getHeapStatistics } from 'node:v8';
import { Long } from 'bson';
import type { CommandContext, Handler } from '../args.js';

/** Wire version 21 = MongoDB 7.0, which Node driver 6 and Mongoose 8 fully support. */
export const MAX_WIRE_VERSION = 21;

/**
 * The handshake reply. Its topologyVersion makes drivers monitor with awaitable hellos (answered
 * in server.ts) and, more importantly, reset their monitor on a network error: the Node driver
 * (6.22, 7.x) skips that reset for a server without one, and its monitor can then stay stuck
 * forever on a socket that closed under it when the engine restarted (docs/RELIABILITY.md).
 */
export function helloReply(
  ctx: Pick<CommandContext, 'connectionId' | 'store'>,
  legacy: boolean,
): Record<string, unknown> {
  return {
    ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
    topologyVersion: ctx.store.topologyVersion,
    helloOk: true,
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: 48_000_000,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId: ctx.connectionId,
    minWireVersion: 0,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
    ok: 1,
  };
}

const startedAt = Date.now();

function serverStatus(ctx: CommandContext): Record<string, unknown> {
  const { scannedObjects, scannedKeys } = ctx.store.stats;
  return {
    host: '127.0.0.1',
    version: '7.0.0',
    process: 'embedded-mongo',
    pid: Long.fromNumber(process.pid),
    uptime: Math.floor((Date.now() - startedAt) / 1000),
    localTime: new Date(),
    // Same names as mongod, so index-use tests read the same counters from a real server.
    metrics: {
      queryExecutor: {
        scanned: Long.fromNumber(scannedKeys),
        scannedObjects: Long.fromNumber(scannedObjects),
      },
    },
    // mongod reports megabytes; the heap is this engine thread's own (the worker's isolate).
    mem: memory(),
    embedded: { openCursors: ctx.store.cursors.size, databases: ctx.store.databases.size },
    ok: 1,
  };
}

function memory(): Record<string, number> {
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  const heap = getHeapStatistics();
  return {
    bits: 64,
    resident: mb(process.memoryUsage.rss()),
    heapUsed: mb(heap.used_heap_size),
    heapTotal: mb(heap.total_heap_size),
  };
}

function listDatabases(ctx: CommandContext): Record<string, unknown> {
  const databases = [...ctx.store.databases.keys()].map((name) => ({
    name,
    sizeOnDisk: 0,
    empty: false,
  }));
  if (ctx.cmd.nameOnly === true)
    return { databases: databases.map(({ name }) => ({ name })), ok: 1 };
  return { databases, totalSize: 0, totalSizeMb: 0, ok: 1 };
}

export const adminCommands: Record<string, Handler> = {
  hello: (ctx) => helloReply(ctx, false),
  isMaster: (ctx) => helloReply(ctx, true),
  ismaster: (ctx) => helloReply(ctx, true),
  ping: () => ({ ok: 1 }),
  buildInfo: () => buildInfo(),
  buildinfo: () => buildInfo(),
  serverStatus,
  getParameter: () => ({ featureCompatibilityVersion: { version: '7.0' }, ok: 1 }),
  endSessions: () => ({ ok: 1 }),
  killSessions: () => ({ ok: 1 }),
  whatsmyuri: () => ({ you: '127.0.0.1', ok: 1 }),
  hostInfo: () => ({ system: { hostname: '127.0.0.1' }, os: { type: process.platform }, ok: 1 }),
  getCmdLineOpts: () => ({ argv: ['embedded-mongo'], parsed: {}, ok: 1 }),
  listDatabases,
  dropDatabase: (ctx) => {
    ctx.store.dropDatabase(ctx.db);
    return { dropped: ctx.db, ok: 1 };
  },
};

function buildInfo(): Record<string, unknown> {
  return {
    version: '7.0.0',
    gitVersion: 'embedded',
    versionArray: [7, 0, 0, 0],
    bits: 64,
    maxBsonObjectSize: 16 * 1024 * 1024,
    storageEngines: ['embedded'],
    ok: 1,
  };
}

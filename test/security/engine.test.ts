import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/logger.js';
import { connectMongo } from '../../src/infra/mongo.js';

/** Resolves with the connection error code, or 'connected'. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

describe('security: the embedded engine (no authentication) is reachable from this host only', () => {
  test('it listens on 127.0.0.1, not on the machine’s other addresses', async () => {
    const mongo = await connectMongo({
      uri: undefined,
      dbName: undefined,
      embeddedDir: undefined,
      logger: silentLogger,
    });
    try {
      const { hostname, port } = new URL(mongo.embedded?.uri ?? '');
      assert.equal(hostname, '127.0.0.1');
      assert.equal(await tryConnect('127.0.0.1', Number(port)), 'connected');
      const external = Object.values(networkInterfaces())
        .flat()
        .filter((a) => a && !a.internal && a.family === 'IPv4')
        .map((a) => a?.address ?? '');
      for (const address of external) {
        assert.equal(await tryConnect(address, Number(port)), 'ECONNREFUSED', address);
      }
    } finally {
      await mongo.close();
    }
  });
});

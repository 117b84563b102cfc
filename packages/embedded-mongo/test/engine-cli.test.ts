import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { MongoClient } from 'mongodb';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');

void describe('engine: CLI', () => {
  void it('prints the URI when ready and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [cli, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr: string[] = [];
    child.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
    const exited = once(child, 'exit');
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    assert.match(line, /^mongodb:\/\/127\.0\.0\.1:\d+$/);
    const client = await new MongoClient(line).connect();
    assert.equal((await client.db('admin').command({ ping: 1 })).ok, 1);
    await client.close();
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
    assert.match(stderr.join(''), /memory-only/);
  });
});

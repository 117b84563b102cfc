import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { patient } from '../support/sockets.js';

const run = promisify(execFile);
const runner = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

interface Row {
  id: string;
  parley: number;
  baseline: number;
  ratio: number;
}

// Benchmarks are not tests: this runs the whole suite on tiny sizes (no figures are judged) so the
// harness, servers and scenarios keep working. It writes to a temp dir, never to docs/. The
// generous timeout is for a loaded machine: starting five servers took 56 s under a load of 13,
// and the whole run passed 280 s at a load of 16 (TEST_PATIENCE stretches both).
test(
  'the benchmark suite runs end to end on tiny sizes',
  { timeout: patient(300_000) },
  async () => {
    const out = await mkdtemp(join(tmpdir(), 'parley-bench-'));
    try {
      await run(
        process.execPath,
        [
          runner,
          '--smoke',
          '--only=web,sockets,pipeline,variants,events,search,media',
          `--out=${out}`,
        ],
        {
          timeout: patient(280_000),
        },
      );
      const result = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as {
        rows: Row[];
        failures: unknown[];
      };
      assert.deepEqual(result.failures, []);
      assert.deepEqual(
        result.rows.map((r) => r.id),
        [
          'messages-throughput',
          'messages-latency',
          'history-page',
          'conversation-list',
          'auth-me',
          'group-throughput',
          'group-latency',
          'idle-sockets',
          'nightly-plan',
          'queue-deliver',
          'messages-journal',
          'messages-events',
          'events-relay',
          'search-few-conversations',
          'search-many-conversations',
          'media-thumbnails',
          'media-upload',
        ],
      );
      for (const row of result.rows) {
        assert.ok(row.parley > 0 && row.baseline > 0, `${row.id} measured both sides`);
        assert.ok(Number.isFinite(row.ratio), `${row.id} has a ratio`);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  },
);

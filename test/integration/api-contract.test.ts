import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import {
  contractVerdict,
  openApiBreakingChanges,
  socketBreakingChanges,
  socketDocument,
  type Breaking,
  type SocketDocument,
} from '../../src/http/api-compat.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { http } from '../support/http.js';

const files = {
  openApi: 'docs/api/openapi.json',
  socket: 'docs/api/socket.json',
  changelog: 'docs/api/CHANGELOG.md',
};
/** `npm run api:snapshot` runs this file with API_SNAPSHOT=write to refresh the copies. */
const writing = process.env.API_SNAPSHOT === 'write';

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

interface Versioned {
  info?: { version?: string };
}

// The served OpenAPI document and the socket contract against the committed copies in docs/api/:
// a breaking change fails unless its version was bumped and docs/api/CHANGELOG.md names it.
describe('published contracts (docs/api)', () => {
  let app: TestApp;
  let served: Versioned;
  const socket = socketDocument();

  before(async () => {
    app = await startTestApp();
    served = (await http<Versioned>(app.url, 'GET', '/api/openapi.json')).body;
  });

  test('no breaking change without a version bump and a CHANGELOG entry', async (t) => {
    const committedApi = await readJson<Versioned>(files.openApi);
    const committedSocket = await readJson<SocketDocument>(files.socket);
    const changelog = (await readFile(files.changelog, 'utf8').catch(() => '')) || '';
    const problems: string[] = [];
    const additive: string[] = [];
    if (!committedApi || !committedSocket) {
      if (!writing)
        problems.push(`${files.openApi} or ${files.socket} is missing: npm run api:snapshot`);
    } else {
      const rest: Breaking[] = openApiBreakingChanges(committedApi, served);
      const events: Breaking[] = socketBreakingChanges(committedSocket, socket);
      problems.push(
        ...contractVerdict({
          kind: 'REST',
          breaking: rest,
          oldVersion: committedApi.info?.version ?? '0.0.0',
          newVersion: served.info?.version ?? '0.0.0',
          changelog,
        }),
        ...contractVerdict({
          kind: 'Socket',
          breaking: events,
          oldVersion: committedSocket.version,
          newVersion: socket.version,
          changelog,
        }),
      );
      if (JSON.stringify(committedApi) !== JSON.stringify(served)) additive.push(files.openApi);
      if (JSON.stringify(committedSocket) !== JSON.stringify(socket)) additive.push(files.socket);
    }
    assert.deepEqual(problems, []);
    if (writing) {
      await mkdir('docs/api', { recursive: true });
      await writeFile(files.openApi, `${JSON.stringify(served, null, 2)}\n`);
      await writeFile(files.socket, `${JSON.stringify(socket, null, 2)}\n`);
      t.diagnostic(`wrote ${files.openApi} and ${files.socket}`);
    } else if (additive.length) {
      // Compatible changes pass; the copies catch up with `npm run api:snapshot`.
      t.diagnostic(`${additive.join(', ')} differ compatibly: run npm run api:snapshot`);
    }
  });
});

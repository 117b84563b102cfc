import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { describe, test } from 'node:test';
import { build } from 'esbuild';

/** Bundles `source` for browsers as an app would; returns the files that went in. */
async function bundle(source: string) {
  const result = await build({
    stdin: { contents: source, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  // What ended up in the output (esbuild parses more than it keeps).
  const output = Object.values(result.metafile.outputs)[0];
  return Object.entries(output?.inputs ?? {})
    .filter(([, used]) => used.bytesInOutput > 0)
    .map(([input]) => input);
}

const nodeOnly = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

describe('@parley/client in a browser bundle', () => {
  test('bundles for the browser without Node built-ins, zod or the contract schemas', async () => {
    const inputs = await bundle(
      "import { createClient } from '@parley/client'; console.log(createClient);",
    );
    assert.ok(
      inputs.some((i) => i.includes('socket.io-client')),
      'the socket is in',
    );
    assert.deepEqual(
      inputs.filter((i) => nodeOnly.has(i)),
      [],
      'no Node built-ins',
    );
    assert.deepEqual(
      inputs.filter((i) => i.includes('/zod/') || i.includes('/src/contracts/')),
      [],
      'types only: no schemas at runtime',
    );
  });

  test('is tree-shakeable: REST-only use leaves Socket.IO out', async () => {
    const inputs = await bundle(
      "import { ParleyError, routes } from '@parley/client'; console.log(ParleyError, routes);",
    );
    assert.deepEqual(
      inputs.filter((i) => i.includes('socket.io') || i.includes('engine.io')),
      [],
    );
  });
});

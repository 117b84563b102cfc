import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  findNginx,
  nginxArgs,
  renderTemplate,
  repoRoot,
  writeNginxConfig,
} from '../../src/cluster/nginx.js';
import { skipWithoutNginx } from './support.js';

interface Compose {
  services: Record<
    string,
    { environment?: Record<string, string>; volumes?: string[]; deploy?: unknown }
  >;
}

/** docker-compose.yml parsed with the `yaml` package when it is installed (a transitive dependency). */
async function loadCompose(): Promise<Compose | null> {
  const specifier = 'yaml';
  try {
    const yaml = (await import(specifier)) as { parse(text: string, options: object): unknown };
    const text = await readFile(join(repoRoot, 'docker-compose.yml'), 'utf8');
    return yaml.parse(text, { merge: true }) as Compose;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw error;
  }
}

describe(
  'the Nginx config docker-compose uses is the one the cluster renders',
  { skip: skipWithoutNginx },
  () => {
    test('compose mounts the shared template and sets every placeholder; Nginx accepts the result', async (t) => {
      const compose = await loadCompose();
      if (!compose) return t.skip('the yaml package is not installed');
      const nginx = compose.services.nginx;
      assert.ok(
        nginx?.volumes?.some((v) =>
          v.startsWith('./deploy/nginx/parley.conf.template:/etc/nginx/templates/'),
        ),
      );
      for (const role of ['api', 'worker', 'scheduler'])
        assert.equal(compose.services[role]?.environment?.ROLE, role);
      assert.equal(compose.services.api?.environment?.TRUST_PROXY, '1');

      const template = await readFile(join(repoRoot, 'deploy/nginx/parley.conf.template'), 'utf8');
      const rendered = renderTemplate(template, nginx?.environment ?? {});
      assert.doesNotMatch(rendered, /\$\{PARLEY_/, 'every placeholder set by compose');

      // `nginx -t` over the compose rendering (api resolved to localhost, as Docker's DNS would).
      const prefix = await mkdtemp(join(tmpdir(), 'parley-nginx-'));
      try {
        const conf = await writeNginxConfig(prefix, { listen: '0', upstreams: [] });
        await writeFile(
          join(prefix, 'parley.conf'),
          rendered.replaceAll('api:3000', '127.0.0.1:3000'), // `nginx -t` binds nothing
        );
        const args = nginxArgs(prefix, conf).filter((a) => a !== 'daemon off;' && a !== '-g');
        const { stderr } = await promisify(execFile)(findNginx() ?? 'nginx', [...args, '-t']);
        assert.match(stderr, /test is successful/);
      } finally {
        await rm(prefix, { recursive: true, force: true });
      }
    });
  },
);

import { accessSync, constants } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is dist/src/cluster/nginx.js once built). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const templates = join(repoRoot, 'deploy', 'nginx');

/**
 * Substitutes `${PARLEY_*}` placeholders, the only ones the template uses, so Nginx's own
 * `$variables` pass through untouched (as with the nginx image's envsubst over defined names).
 */
export function renderTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(PARLEY_[A-Z0-9_]+)\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx template: no value for \${${name}}`);
    return value;
  });
}

export interface NginxSite {
  /** What `listen` gets: a port, or address:port. */
  listen: string;
  /** host:port of every api instance. */
  upstreams: readonly string[];
}

/** The upstream lines: a refused or reset instance is skipped for a few seconds. */
export function upstreamServers(upstreams: readonly string[]): string {
  return upstreams.map((u) => `server ${u} max_fails=1 fail_timeout=5s;`).join('\n    ');
}

/**
 * Writes nginx.conf (the cluster's main file) and parley.conf (the shared template, rendered)
 * into `prefix`, with the log and temp directories Nginx expects there. Returns nginx.conf's path.
 */
export async function writeNginxConfig(prefix: string, site: NginxSite): Promise<string> {
  for (const dir of ['logs', 'tmp'])
    await mkdir(join(prefix, dir), { recursive: true, mode: 0o755 });
  const template = await readFile(join(templates, 'parley.conf.template'), 'utf8');
  const rendered = renderTemplate(template, {
    PARLEY_LISTEN: site.listen,
    PARLEY_UPSTREAM_SERVERS: upstreamServers(site.upstreams),
  });
  await writeFile(join(prefix, 'parley.conf'), rendered);
  const main = join(prefix, 'nginx.conf');
  await copyFile(join(templates, 'nginx.cluster.conf'), main);
  return main;
}

/** Debian's nginx: on PATH, or in /usr/sbin (not on a non-root user's PATH). */
export function findNginx(path = process.env.PATH ?? ''): string | null {
  const dirs = [...path.split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nginx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

/** Arguments that keep Nginx off the system configuration entirely. */
export function nginxArgs(prefix: string, conf: string): string[] {
  return ['-p', prefix, '-c', conf, '-e', 'logs/error.log', '-g', 'daemon off;'];
}

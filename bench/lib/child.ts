import { fork, type ChildProcess } from 'node:child_process';
import { pino } from 'pino';
import { exitOnSignals } from '../../src/shutdown.js';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { pinning } from './proc.js';

/** Messages a bench server sends its parent. */
export type FromChild =
  | { type: 'ready'; url: string; pid: number; extra?: Record<string, unknown> }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

/** A request from the parent: a command name and its JSON arguments. */
export interface ToChild {
  type: 'call';
  id: number;
  command: string;
  args: unknown;
}

export interface BenchChild {
  readonly pid: number;
  readonly url: string;
  readonly extra: Record<string, unknown>;
  call<T>(command: string, args?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Starts `bench/servers/<name>.js` as a child process pinned to the server cores (so the load
 * generator in this process never shares their CPU time), and waits for its `ready` message.
 * `floating`: not pinned, scheduled wherever the OS finds room, like Redis and RabbitMQ.
 */
export async function startChild(
  name: string,
  env: Record<string, string>,
  options: { cpuProfileDir?: string; nodeArgs?: string[]; floating?: boolean } = {},
): Promise<BenchChild> {
  const script = fileURLToPath(new URL(`../servers/${name}.js`, import.meta.url));
  const execArgv = ['--expose-gc', ...(options.nodeArgs ?? [])];
  if (options.cpuProfileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
  const pinned = pinning.serverCpus !== null && options.floating !== true;
  const child: ChildProcess = pinned
    ? fork(script, [], {
        execPath: 'taskset',
        execArgv: ['-c', pinning.serverCpus ?? '', process.execPath, ...execArgv],
        env: { ...process.env, ...env },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      })
    : fork(script, [], {
        execArgv,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  const exited = once(child, 'exit');
  let onEarlyExit: (code: number | null) => void = () => undefined;
  const ready = await new Promise<Extract<FromChild, { type: 'ready' }>>((resolve, reject) => {
    onEarlyExit = (code) => reject(new Error(`bench server ${name} exited with ${code}`));
    child.once('exit', onEarlyExit);
    child.on('message', (raw: FromChild) => {
      if (raw.type === 'ready') resolve(raw);
      else {
        const waiter = pending.get(raw.id);
        pending.delete(raw.id);
        if (raw.ok) waiter?.resolve(raw.value);
        else waiter?.reject(new Error(`${name}: ${raw.error}`));
      }
    });
  });
  child.off('exit', onEarlyExit);
  child.on('exit', () => {
    for (const waiter of pending.values()) waiter.reject(new Error(`bench server ${name} exited`));
    pending.clear();
  });
  return {
    pid: ready.pid,
    url: ready.url,
    extra: ready.extra ?? {},
    call<T>(command: string, args?: unknown): Promise<T> {
      const id = nextId++;
      const message: ToChild = { type: 'call', id, command, args: args ?? null };
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: (v) => resolve(v as T), reject });
        child.send(message);
      });
    },
    async stop(): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Child side: announce readiness and answer the parent's calls with `handlers`. */
export function serveParent(
  ready: { url: string; extra?: Record<string, unknown> },
  handlers: Record<string, (args: unknown) => Promise<unknown>>,
  onStop: () => Promise<void>,
): void {
  const send = (m: FromChild): void => {
    process.send?.(m);
  };
  process.on('message', (raw: ToChild) => {
    const handler = handlers[raw.command];
    if (!handler) {
      send({ type: 'reply', id: raw.id, ok: false, error: `unknown command ${raw.command}` });
      return;
    }
    handler(raw.args).then(
      (value) => send({ type: 'reply', id: raw.id, ok: true, value: value ?? null }),
      (error: unknown) =>
        send({
          type: 'reply',
          id: raw.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    );
  });
  exitOnSignals(onStop, {
    logger: pino({ name: 'bench-server', level: 'warn' }, pino.destination(2)),
    message: 'bench server stopping',
    withParent: true,
  });
  send({
    type: 'ready',
    url: ready.url,
    pid: process.pid,
    ...(ready.extra ? { extra: ready.extra } : {}),
  });
}

/** Heap + RSS after a full GC (the child runs with --expose-gc). */
export function memoryAfterGc(): { rss: number; heapUsed: number; external: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers };
}

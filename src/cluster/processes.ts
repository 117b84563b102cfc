import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One supervised child: its output goes to a log file (and, if asked, to our stdout). */
export interface ClusterProcess {
  name: string;
  pid: number;
  /** Base URL of an api instance (http://127.0.0.1:port), else null. */
  url: string | null;
  /** Resolves once, when the process has exited for whatever reason. */
  exited: Promise<Exit>;
  isRunning: () => boolean;
  kill(signal: NodeJS.Signals): void;
  /** The last lines it wrote, for error messages. */
  tail(): string;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  logFile: string;
  echo: boolean;
  url?: string;
  /** Open an IPC channel (Parley processes report readiness over it). */
  ipc?: boolean;
}

const TAIL_LINES = 40;

export function spawnProcess(options: SpawnOptions): ClusterProcess & { child: ChildProcess } {
  const child = spawn(options.command, options.args, {
    env: options.env,
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const lines: string[] = [];
  const pipe = (stream: Readable | null, into: NodeJS.WriteStream) => {
    if (!stream) return;
    createInterface({ input: stream }).on('line', (line) => {
      log.write(`${line}\n`);
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
      if (options.echo) into.write(`${options.name.padEnd(11)}| ${line}\n`);
    });
  };
  pipe(child.stdout, process.stdout);
  pipe(child.stderr, process.stderr);
  let running = true;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      running = false;
      lines.push(`spawn failed: ${error.message}`);
      resolve({ code: null, signal: null });
    });
  });
  void exited.then(() => log.end());
  return {
    name: options.name,
    pid: child.pid ?? -1,
    url: options.url ?? null,
    exited,
    child,
    isRunning: () => running,
    kill(signal) {
      if (running) child.kill(signal);
    },
    tail: () => lines.join('\n'),
  };
}

/** Resolves when the process reports `parley:ready` over IPC; rejects if it exits first. */
export function readyMessage(
  proc: ClusterProcess & { child: ChildProcess },
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${proc.name} not ready within ${timeoutMs} ms\n${proc.tail()}`)),
      timeoutMs,
    );
    proc.child.on('message', (message: unknown) => {
      if ((message as { type?: unknown } | null)?.type !== 'parley:ready') return;
      clearTimeout(timer);
      resolve();
    });
    void proc.exited.then((exit) => {
      clearTimeout(timer);
      reject(
        new Error(`${proc.name} exited during start-up (${describeExit(exit)})\n${proc.tail()}`),
      );
    });
  });
}

/** Polls `url` until it answers 200, or fails with the last status seen after `timeoutMs`. */
export async function waitForHttp(
  url: string,
  timeoutMs: number,
  alive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: string;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (!alive()) throw new Error(`${url}: the process behind it exited (${last})`);
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms (${last})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A port free right now on `host` (the OS picks it; the caller binds it soon after). */
export function freePort(host = '127.0.0.1', port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is already in use`) : error),
    );
    server.listen(port, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILLs. Returns how the process ended. */
export async function stopProcess(
  proc: ClusterProcess,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<Exit> {
  proc.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), graceMs);
  });
  const exit = await Promise.race([proc.exited, late]);
  clearTimeout(timer);
  if (exit) return exit;
  proc.kill('SIGKILL');
  return proc.exited;
}

export function describeExit(exit: Exit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

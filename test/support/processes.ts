/**
 * Parley roles as real child processes (`node dist/src/entrypoints/main.js`), for failure tests
 * that kill a process outright. Every child is killed when the test file ends, even if the test
 * that started it failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { atEnd } from './app.js';

const MAIN = fileURLToPath(new URL('../../src/entrypoints/main.js', import.meta.url));

export interface RoleProcess {
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** What the process wrote to stderr so far (start-up failures, crashes). */
  stderr(): string;
  /** SIGKILL: no shutdown hook runs, in-flight work is cut wherever it is. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown, waits for the exit. */
  stop(): Promise<void>;
}

export function startRoleProcess(
  role: 'api' | 'worker' | 'scheduler',
  env: Record<string, string>,
): RoleProcess {
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env, ROLE: role },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  if (child.pid === undefined) throw new Error(`could not start ${role}: ${stderr}`);
  const signalAndWait = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const proc: RoleProcess = {
    pid: child.pid,
    exited,
    stderr: () => stderr,
    kill: () => signalAndWait('SIGKILL'),
    stop: () => signalAndWait('SIGTERM'),
  };
  atEnd(() => proc.kill());
  return proc;
}

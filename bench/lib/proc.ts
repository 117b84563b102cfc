import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run). */
const CLK_TCK = readClockTicks();

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** User + system CPU time of a process (all its threads) in milliseconds, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after its closing paren are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLK_TCK;
}

/** Resident set size in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** CPU milliseconds spent by each named process between `start()` and `stop()`. */
export class CpuMeter {
  private readonly before = new Map<string, number>();

  constructor(private readonly pids: Readonly<Record<string, number>>) {}

  start(): this {
    for (const [name, pid] of Object.entries(this.pids)) this.before.set(name, safeCpu(pid));
    return this;
  }

  stop(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids))
      out[name] = safeCpu(pid) - (this.before.get(name) ?? 0);
    return out;
  }
}

function safeCpu(pid: number): number {
  try {
    return cpuMs(pid);
  } catch {
    return 0;
  }
}

/** Pid of a system process by executable name (e.g. redis-server), or null. */
export function pidOf(name: string): number | null {
  try {
    const out = execFileSync('pidof', ['-s', name], { encoding: 'utf8' }).trim();
    return out ? Number(out) : null;
  } catch {
    return null;
  }
}

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  totalMemGiB: number;
  pinning: string;
}

/** Cores for load generation and for servers: different ones when there are at least two. */
export const pinning = (() => {
  const n = cpus().length;
  const hasTaskset = (() => {
    try {
      execFileSync('taskset', ['-V'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (n < 2 || !hasTaskset) return { loadCpu: null, serverCpus: null };
  return { loadCpu: '0', serverCpus: Array.from({ length: n - 1 }, (_, i) => i + 1).join(',') };
})();

/** Pins this process (every thread) to the load-generator core. */
export function pinSelf(): void {
  if (pinning.loadCpu === null) return;
  execFileSync('taskset', ['-a', '-p', '-c', pinning.loadCpu, String(process.pid)], {
    stdio: 'ignore',
  });
}

/** Busy and total ticks of the whole machine (`cpu`) and of each core (`cpu0`, `cpu1`, …). */
function cpuTimes(): Map<string, { busy: number; total: number }> {
  const times = new Map<string, { busy: number; total: number }>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (!line.startsWith('cpu')) break; // the cpu lines come first
    const [name = '', ...fields] = line.trim().split(/\s+/);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
      fields.map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    times.set(name, { busy, total: busy + idle + iowait });
  }
  return times;
}

/** How busy the machine (`cpu`) and each core were between two `cpuTimes()`, 0 to 1. */
function busyBetween(
  before: ReturnType<typeof cpuTimes>,
  after: ReturnType<typeof cpuTimes>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, end] of after) {
    const start = before.get(name) ?? { busy: 0, total: 0 };
    const total = end.total - start.total;
    out[name] = total > 0 ? (end.busy - start.busy) / total : 0;
  }
  return out;
}

/** How busy each core was (`cpu0`, `cpu1`, …; `cpu`: the machine) while `run` ran, 0 to 1. */
export async function withCoreBusy<T>(
  run: () => Promise<T>,
): Promise<{ value: T; busy: Record<string, number> }> {
  const before = cpuTimes();
  const value = await run();
  return { value, busy: busyBetween(before, cpuTimes()) };
}

/** How busy the whole machine was (0 to 1, every core) over the next `ms`. */
async function machineBusy(ms: number): Promise<number> {
  const { busy } = await withCoreBusy(() => new Promise((resolve) => setTimeout(resolve, ms)));
  return busy.cpu ?? 0;
}

export interface Settled {
  /** How long it took until the machine was quiet (or the wait gave up). */
  waitedMs: number;
  /** The machine's load over the last second before going on, in % of all cores. */
  busyPercent: number;
  /** False: the wait gave up with the machine still busy. */
  quiet: boolean;
}

/**
 * Waits until the machine is quiet: under `threshold` busy over a whole second, at most `maxMs`.
 * What a group leaves behind (an engine collecting a dropped database, a broker deleting queues
 * with a backlog) must not land in the next group's rows; and a machine busy with something else
 * is reported with the results instead of silently slowing them.
 */
export async function settle(maxMs = 60_000, threshold = 0.1): Promise<Settled> {
  const started = Date.now();
  let busy = await machineBusy(1000);
  while (busy >= threshold && Date.now() - started < maxMs) busy = await machineBusy(1000);
  return {
    waitedMs: Date.now() - started,
    busyPercent: Math.round(busy * 100),
    quiet: busy < threshold,
  };
}

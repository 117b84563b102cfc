/**
 * The fault schedule: what is killed when, as fractions of the chat phase, printed before the
 * run starts. Each fault kills something hard (`kill -9`) and brings it back; faults run one
 * after another, so a slow restart delays the next one (the report prints when each really ran).
 */
import type { Cluster } from '../src/cluster/cluster.js';
import type { RabbitCluster, RabbitNode } from './rabbit-cluster.js';
import type { Service } from './services.js';

export type FaultKind =
  | 'kill-worker'
  | 'kill-rabbit-leader'
  | 'kill-rabbit-node'
  | 'restart-redis'
  | 'kill-api'
  | 'kill-engine';

export interface PlannedFault {
  /** Seconds after the chat phase starts. */
  readonly at: number;
  readonly kind: FaultKind;
}

export interface FaultRecord {
  readonly kind: FaultKind;
  readonly target: string;
  readonly plannedAt: number;
  /** Seconds after the chat phase started: when it was killed, and when back and ready. */
  readonly killedAt: number;
  readonly backAt: number;
}

export interface Targets {
  readonly cluster: Cluster;
  readonly rabbit: RabbitCluster;
  readonly redis: Service;
  readonly engine: Service;
  /** The quorum queue whose leader `kill-rabbit-leader` picks. */
  readonly leaderQueue: string;
}

/** Worker kills spread over the run; the other faults at fixed points, away from each other. */
export function faultSchedule(
  durationS: number,
  workerKills: number,
  rabbitKills: number,
): PlannedFault[] {
  const at = (fraction: number) => Math.round(durationS * fraction);
  const faults: PlannedFault[] = [];
  for (let i = 0; i < workerKills; i += 1)
    faults.push({ at: at(0.05 + (0.85 * i) / Math.max(1, workerKills)), kind: 'kill-worker' });
  for (let i = 0; i < rabbitKills; i += 1)
    faults.push({
      at: at(0.12 + (0.6 * i) / Math.max(1, rabbitKills)),
      kind: i === 0 ? 'kill-rabbit-leader' : 'kill-rabbit-node',
    });
  faults.push({ at: at(0.35), kind: 'restart-redis' });
  faults.push({ at: at(0.5), kind: 'kill-api' });
  faults.push({ at: at(0.65), kind: 'kill-engine' });
  return faults.sort((a, b) => a.at - b.at);
}

/** Runs the schedule from `startedAt` (ms epoch) until done or `signal` aborts. */
export async function injectFaults(
  schedule: readonly PlannedFault[],
  targets: Targets,
  startedAt: number,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  const now = () => Math.round((Date.now() - startedAt) / 100) / 10;
  let rabbitTurn = 0;
  let workerTurn = 0;
  for (const fault of schedule) {
    const wait = startedAt + fault.at * 1000 - Date.now();
    if (wait > 0) await abortableSleep(wait, signal);
    if (signal.aborted) break;
    const killedAt = now();
    let target: string;
    switch (fault.kind) {
      case 'kill-worker': {
        const { workers } = targets.cluster;
        const victim = workers[workerTurn % workers.length];
        workerTurn += 1;
        if (!victim) continue;
        target = victim.name;
        await killProcess(victim);
        await targets.cluster.restart(victim);
        break;
      }
      case 'kill-api': {
        const victim = targets.cluster.apis[0];
        if (!victim) continue;
        target = victim.name;
        await killProcess(victim);
        await targets.cluster.restart(victim);
        break;
      }
      case 'kill-rabbit-leader':
      case 'kill-rabbit-node': {
        const node = await pickNode(targets, fault.kind, rabbitTurn);
        rabbitTurn += 1;
        target = `${node.name}${fault.kind === 'kill-rabbit-leader' ? ' (leader)' : ''}`;
        await targets.rabbit.kill(node);
        await targets.rabbit.start(node);
        await targets.rabbit.awaitReplicas(120_000);
        break;
      }
      case 'restart-redis':
      case 'kill-engine': {
        const service = fault.kind === 'restart-redis' ? targets.redis : targets.engine;
        target = service.name;
        await service.kill();
        await service.start();
        break;
      }
    }
    const record = { kind: fault.kind, target, plannedAt: fault.at, killedAt, backAt: now() };
    records.push(record);
    log(
      `fault ${records.length}: ${record.kind} ${record.target} at ${killedAt}s, back at ${record.backAt}s`,
    );
  }
  return records;
}

async function pickNode(targets: Targets, kind: FaultKind, turn: number): Promise<RabbitNode> {
  const { nodes } = targets.rabbit;
  if (kind === 'kill-rabbit-leader') {
    const leader = await targets.rabbit.leaderOf(targets.leaderQueue);
    if (leader) return leader;
  }
  return nodes[turn % nodes.length] as RabbitNode;
}

async function killProcess(proc: { kill(signal: NodeJS.Signals): void; exited: Promise<unknown> }) {
  proc.kill('SIGKILL');
  await proc.exited;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

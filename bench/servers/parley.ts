import {
  constants,
  monitorEventLoopDelay,
  PerformanceObserver,
  type IntervalHistogram,
} from 'node:perf_hooks';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startParley } from '../../src/app.js';
import { memoryAfterGc, serveParent } from '../lib/child.js';

/**
 * Parley exactly as production composes it (`startParley`), configured by the environment the
 * parent passes, plus a few calls the benches need: memory, planning, queueing and a wait for
 * the worker to drain the queue.
 */
const config = loadConfig(process.env);
const parley = await startParley(config, createLogger(config.LOG_LEVEL));
const { autoMessages } = parley.services;

async function drained(args: unknown): Promise<{ ms: number }> {
  const { timeoutMs } = args as { timeoutMs: number };
  const started = Date.now();
  const deadline = started + timeoutMs;
  // Nothing ready and nothing in flight after every publish was confirmed: all jobs handled.
  for (;;) {
    const stats = await parley.infra.rabbit.queueStats();
    if (stats.main.ready === 0 && stats.main.unacknowledged === 0) break;
    if (Date.now() > deadline) throw new Error(`queue not drained: ${JSON.stringify(stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { ms: Date.now() - started };
}

// The event loop's own delay over a measurement (loopDelayStart … loopDelayStop), in ms, and
// the main thread's GC pauses over the same window (what part of that delay GC explains).
let loopDelay: IntervalHistogram | null = null;
const ms = (ns: number) => Math.round(ns / 1e4) / 100;
const gc = { count: 0, totalMs: 0, maxMs: 0, majorMs: 0 };
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count += 1;
    gc.totalMs += entry.duration;
    // `detail` (Node ≥ 16) is missing from this @types/node version's PerformanceEntry.
    const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.majorMs += entry.duration;
    gc.maxMs = Math.max(gc.maxMs, entry.duration);
  }
});

serveParent(
  { url: parley.url ?? '' },
  {
    memory: () => Promise.resolve(memoryAfterGc()),
    loopDelayStart: () => {
      loopDelay?.disable();
      loopDelay = monitorEventLoopDelay({ resolution: 1 });
      loopDelay.enable();
      Object.assign(gc, { count: 0, totalMs: 0, maxMs: 0, majorMs: 0 });
      gcObserver.observe({ entryTypes: ['gc'] });
      return Promise.resolve(null);
    },
    loopDelayStop: () => {
      const h = loopDelay;
      loopDelay = null;
      if (!h) return Promise.reject(new Error('loopDelayStart was not called'));
      h.disable();
      gcObserver.disconnect();
      return Promise.resolve({
        p50Ms: ms(h.percentile(50)),
        p99Ms: ms(h.percentile(99)),
        maxMs: ms(h.max),
        gcCount: gc.count,
        gcTotalMs: Math.round(gc.totalMs),
        gcMaxMs: Math.round(gc.maxMs * 10) / 10,
        gcMajorMs: Math.round(gc.majorMs),
      });
    },
    sockets: () => Promise.resolve({ count: parley.io?.engine.clientsCount ?? 0 }),
    plan: async (args) => {
      const { runId, from, to } = args as { runId: string; from: string; to: string };
      const started = process.hrtime.bigint();
      const result = await autoMessages.plan(runId, new Date(from), new Date(to));
      return { ...result, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    },
    // Queue every due message (publishes with confirms) while this process's worker delivers
    // them; done when the queue is empty and nothing is in flight.
    queueDeliver: async (args) => {
      const { runId, timeoutMs } = args as { runId: string; timeoutMs: number };
      const started = process.hrtime.bigint();
      const result = await autoMessages.queueDue(runId);
      const queuedMs = Number(process.hrtime.bigint() - started) / 1e6;
      await drained({ timeoutMs });
      return { ...result, queuedMs, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    },
  },
  () => parley.stop(),
);

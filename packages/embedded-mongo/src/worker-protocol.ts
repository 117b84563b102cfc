import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startInlineEngine, type EmbeddedMongo, type EngineSettings } from './engine.js';
import { levelledLogger, type EngineLogger, type LogLevel } from './logger.js';

/**
 * Messages between the thread that called startEmbeddedMongo() (the host) and the engine's
 * Worker. The host sends `stop`; the worker answers with the rest. Everything is plain data.
 */
export interface WorkerConfig extends EngineSettings {
  /** The host logger's lowest level; the worker only forwards records at or above it. */
  logLevel: LogLevel | 'silent';
}

export interface SerializedError {
  name: string;
  message: string;
  stack: string | undefined;
  /** Node system-error fields (EADDRINUSE, …) that structured clone would drop. */
  props: Record<string, string | number>;
}

export type FromWorker =
  | { type: 'log'; level: LogLevel; msg: string; fields: Record<string, unknown> }
  | { type: 'ready'; port: number; uri: string }
  | { type: 'start-failed'; error: SerializedError }
  | { type: 'stopped' }
  | { type: 'stop-failed'; error: SerializedError };

export type ToWorker = { type: 'stop' };

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) {
    return { name: 'Error', message: String(err), stack: undefined, props: {} };
  }
  const props: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(err)) {
    if (typeof value === 'string' || typeof value === 'number') props[key] = value;
  }
  return { name: err.name, message: err.message, stack: err.stack, props };
}

export function deserializeError(data: SerializedError): Error {
  const err = Object.assign(new Error(data.message), data.props);
  err.name = data.name;
  if (data.stack !== undefined) err.stack = data.stack;
  return err;
}

/**
 * A logger whose records travel to the host as messages. Structured clone keeps only plain
 * data, so an Error in `err` is sent serialized (the host revives it).
 */
function forwardingLogger(
  threshold: LogLevel | 'silent',
  send: (msg: FromWorker) => void,
): EngineLogger {
  return levelledLogger(threshold, (level, fields, msg) => {
    const plain: Record<string, unknown> = { ...fields };
    if (plain.err !== undefined) plain.err = serializeError(plain.err);
    send({ type: 'log', level, msg, fields: plain });
  });
}

/**
 * The worker's side: starts the engine with the settings in workerData, forwards every log
 * record to the host as a JSON line, and stops (flushing persistence) when asked. Once stopped
 * the worker closes its port and has no handles left, so the thread ends by itself.
 * Never rejects: start and stop failures are reported to the host as messages.
 */
export async function runEngineWorker(): Promise<void> {
  const port = parentPort;
  if (isMainThread || !port) throw new Error('runEngineWorker() must run inside a worker thread');
  const config = workerData as WorkerConfig;
  const send = (msg: FromWorker): void => port.postMessage(msg);
  const logger = forwardingLogger(config.logLevel, send);
  let engine: EmbeddedMongo;
  try {
    engine = await startInlineEngine(config, logger);
  } catch (err) {
    send({ type: 'start-failed', error: serializeError(err) });
    port.close();
    return;
  }
  port.on('message', (msg: ToWorker) => {
    if (msg.type !== 'stop') return;
    void engine
      .stop()
      .then(
        () => send({ type: 'stopped' }),
        (err: unknown) => send({ type: 'stop-failed', error: serializeError(err) }),
      )
      .finally(() => port.close());
  });
  send({ type: 'ready', port: engine.port, uri: engine.uri });
}

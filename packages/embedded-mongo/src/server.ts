import net from 'node:net';
import { ObjectId } from 'bson';
import { withFields, type EngineLogger } from './logger.js';
import { executeCommand } from './commands/index.js';
import type { Store } from './store.js';
import {
  encodeReply,
  HEADER_BYTES,
  MAX_MESSAGE_BYTES,
  parseMessage,
  type WireRequest,
} from './wire.js';
import { MongoCommandError } from './errors.js';

/** A client that starts a message and never finishes it is cut off after this long. */
const PARTIAL_MESSAGE_TIMEOUT_MS = 30_000;
/** The longest an awaitable hello is held, whatever maxAwaitTimeMS asks. */
const MAX_AWAIT_MS = 60_000;
const HELLO_COMMANDS = new Set(['hello', 'isMaster', 'ismaster']);

/** Splits a TCP byte stream into whole wire messages without quadratic re-copying. */
class MessageReader {
  private chunks: Buffer[] = [];
  private total = 0;
  private expected: number | undefined;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  get pending(): boolean {
    return this.total > 0;
  }

  /** The next complete message, undefined if more bytes are needed; throws on a bad length. */
  next(): Buffer | undefined {
    if (this.expected === undefined) {
      if (this.total < 4) return undefined;
      const head = this.flatten();
      const length = head.readInt32LE(0);
      if (length < HEADER_BYTES || length > MAX_MESSAGE_BYTES) {
        throw new Error(`message length ${length} outside [${HEADER_BYTES}, ${MAX_MESSAGE_BYTES}]`);
      }
      this.expected = length;
    }
    if (this.total < this.expected) return undefined;
    const all = this.flatten();
    const message = all.subarray(0, this.expected);
    const rest = all.subarray(this.expected);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.total = rest.length;
    this.expected = undefined;
    return message;
  }

  private flatten(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.total)];
    return this.chunks[0] as Buffer;
  }
}

function respond(
  store: Store,
  logger: EngineLogger,
  request: WireRequest,
  connectionId: number,
  stream?: Parameters<typeof encodeReply>[2],
): Buffer | undefined {
  const reply = executeCommand({
    store,
    db: request.db,
    cmd: request.command,
    connectionId,
    logger,
  });
  if (request.moreToCome) return undefined;
  try {
    return encodeReply(request, reply, stream);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return encodeReply(
      request,
      new MongoCommandError('BadValue', `reply could not be encoded: ${message}`).toReply(),
    );
  }
}

/**
 * How long to hold an awaitable hello (SDAM streaming monitoring), or undefined for any other
 * request. The driver sends the topologyVersion it knows and maxAwaitTimeMS: a stale version
 * (another engine run) is answered at once; the current one is answered when the topology
 * changes — never, for one standalone engine — so after maxAwaitTimeMS.
 */
function awaitMs(request: WireRequest, store: Store): number | undefined {
  const { command } = request;
  const known = command.topologyVersion as { processId?: unknown; counter?: unknown } | undefined;
  const max = command.maxAwaitTimeMS;
  if (!HELLO_COMMANDS.has(Object.keys(command)[0] ?? '') || !known || typeof max !== 'number')
    return undefined;
  const current = store.topologyVersion;
  const same =
    known.processId instanceof ObjectId &&
    known.processId.equals(current.processId) &&
    Number(known.counter) === current.counter.toNumber();
  return same ? Math.min(Math.max(0, max), MAX_AWAIT_MS) : undefined;
}

/** What the server needs from storage: journal the last command's changes (see storage.ts). */
export interface Durability {
  /** Undefined when the command changed nothing; else resolves once its changes are durable. */
  commit(): Promise<void> | undefined;
}

/**
 * Serves the wire protocol; each message is decoded and executed synchronously. With
 * `durability`, a command that changed something is answered only once its changes are
 * journaled; replies on one connection keep their order (later ones wait behind it).
 */
export function createWireServer(
  store: Store,
  logger: EngineLogger,
  durability?: Durability,
): net.Server {
  let nextConnectionId = 1;
  return net.createServer((socket) => {
    const connectionId = nextConnectionId++;
    const log = withFields(logger, { connectionId });
    const reader = new MessageReader();
    socket.setNoDelay(true);
    const fail = (reason: string, err?: unknown): void => {
      log.warn({ err, remote: socket.remotePort }, `closing connection: ${reason}`);
      socket.destroy();
    };
    socket.on('timeout', () => fail('incomplete message timed out'));
    socket.on('error', (err) => log.debug({ err }, 'socket error'));
    socket.on('end', () => {
      if (reader.pending) fail('connection ended inside a message');
    });
    let timingOut = false;
    /** The last reply still waiting for the journal, if any. */
    let waiting: Promise<void> | undefined;
    const send = (out: Buffer | undefined, durable: Promise<void> | undefined): void => {
      if (!durable && !waiting) {
        if (out) socket.write(out);
        return;
      }
      const before = waiting;
      const sent = (async () => {
        await before;
        await durable;
      })().then(
        () => {
          if (out) socket.write(out);
        },
        (err: unknown) =>
          fail('the journal could not be written, so the write is not acknowledged', err),
      );
      waiting = sent;
      void sent.then(() => {
        if (waiting === sent) waiting = undefined;
      });
    };
    /**
     * Answers an awaitable hello after `waitMs`; with exhaustAllowed, again every `waitMs`
     * (each reply flagged moreToCome, responding to the one before) until the connection closes.
     */
    const answerLater = (request: WireRequest, waitMs: number, responseTo: number): void => {
      const timer = setTimeout(() => {
        socket.off('close', cancel);
        if (socket.destroyed) return;
        const moreToCome = request.exhaustAllowed;
        const out = respond(store, log, request, connectionId, { moreToCome, responseTo });
        send(out, undefined);
        if (out && moreToCome) answerLater(request, waitMs, out.readInt32LE(4));
      }, waitMs).unref();
      const cancel = (): void => clearTimeout(timer);
      socket.once('close', cancel);
    };
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      try {
        for (let msg = reader.next(); msg; msg = reader.next()) {
          const request = parseMessage(msg);
          const waitMs = awaitMs(request, store);
          if (waitMs !== undefined) {
            answerLater(request, waitMs, request.requestId);
            continue;
          }
          send(respond(store, log, request, connectionId), durability?.commit());
        }
      } catch (err) {
        fail('malformed message', err);
        return;
      }
      // Only touch the socket timer when a partial message starts or completes.
      if (reader.pending !== timingOut) {
        timingOut = reader.pending;
        socket.setTimeout(timingOut ? PARTIAL_MESSAGE_TIMEOUT_MS : 0);
      }
    });
  });
}

import { BSON } from 'bson';
import type { Doc } from './key-index.js';

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;
export const MAX_MESSAGE_BYTES = 48_000_000;
export const HEADER_BYTES = 16;

const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;
const EXHAUST_ALLOWED = 1 << 16;

/** A decoded client request: the command document with any document sequences merged in. */
export interface WireRequest {
  requestId: number;
  opCode: number;
  command: Doc;
  db: string;
  /** The client asked for no reply (unacknowledged write). */
  moreToCome: boolean;
  /** The client accepts a stream of replies to this request (awaitable hello). */
  exhaustAllowed: boolean;
}

export class MalformedMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedMessageError';
  }
}

function need(cond: boolean, what: string): void {
  if (!cond) throw new MalformedMessageError(what);
}

function readDoc(buf: Buffer, pos: number, end: number): { doc: Doc; next: number } {
  need(pos + 5 <= end, 'document runs past message end');
  const size = buf.readInt32LE(pos);
  need(size >= 5 && pos + size <= end, 'bad document size');
  return { doc: BSON.deserialize(buf.subarray(pos, pos + size)), next: pos + size };
}

function readCString(buf: Buffer, pos: number, end: number): { value: string; next: number } {
  const zero = buf.indexOf(0, pos);
  need(zero >= 0 && zero < end, 'unterminated string');
  return { value: buf.toString('utf8', pos, zero), next: zero + 1 };
}

function parseOpMsg(buf: Buffer, requestId: number): WireRequest {
  need(buf.length >= 21, 'OP_MSG too short');
  const flags = buf.readUInt32LE(16);
  const end = buf.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
  let pos = 20;
  let body: Doc | undefined;
  const sequences: Array<[string, Doc[]]> = [];
  while (pos < end) {
    const kind = buf[pos++];
    if (kind === 0) {
      need(body === undefined, 'more than one body section');
      const r = readDoc(buf, pos, end);
      body = r.doc;
      pos = r.next;
    } else if (kind === 1) {
      need(pos + 4 <= end, 'truncated document sequence');
      const seqEnd = pos + buf.readInt32LE(pos);
      need(seqEnd > pos + 4 && seqEnd <= end, 'bad document sequence size');
      const id = readCString(buf, pos + 4, seqEnd);
      const docs: Doc[] = [];
      for (let p = id.next; p < seqEnd;) {
        const r = readDoc(buf, p, seqEnd);
        docs.push(r.doc);
        p = r.next;
      }
      sequences.push([id.value, docs]);
      pos = seqEnd;
    } else {
      throw new MalformedMessageError(`unknown OP_MSG section kind ${String(kind)}`);
    }
  }
  need(body !== undefined, 'OP_MSG without body section');
  const command = body as Doc;
  for (const [field, docs] of sequences) command[field] = docs;
  const db = typeof command.$db === 'string' ? command.$db : 'admin';
  return {
    requestId,
    opCode: OP_MSG,
    command,
    db,
    moreToCome: (flags & MORE_TO_COME) !== 0,
    exhaustAllowed: (flags & EXHAUST_ALLOWED) !== 0,
  };
}

/** Legacy OP_QUERY, which drivers use only for the first handshake on `admin.$cmd`. */
function parseOpQuery(buf: Buffer, requestId: number): WireRequest {
  const ns = readCString(buf, 20, buf.length);
  const { doc } = readDoc(buf, ns.next + 8, buf.length);
  const command =
    '$query' in doc && typeof doc.$query === 'object' && doc.$query !== null
      ? (doc.$query as Doc)
      : doc;
  const db = ns.value.split('.')[0] ?? 'admin';
  return { requestId, opCode: OP_QUERY, command, db, moreToCome: false, exhaustAllowed: false };
}

/** Decodes one complete message (header included); throws MalformedMessageError or a BSON error. */
export function parseMessage(buf: Buffer): WireRequest {
  need(buf.length >= HEADER_BYTES && buf.readInt32LE(0) === buf.length, 'bad message length');
  const requestId = buf.readInt32LE(4);
  const opCode = buf.readInt32LE(12);
  if (opCode === OP_MSG) return parseOpMsg(buf, requestId);
  if (opCode === OP_QUERY) return parseOpQuery(buf, requestId);
  throw new MalformedMessageError(`unsupported opCode ${opCode}`);
}

let nextResponseId = 1;

function header(length: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(nextResponseId++ & 0x7fffffff, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/**
 * A reply to `request`. `stream`: one of a stream of replies (OP_MSG only) — `moreToCome` says
 * another follows, `responseTo` is the id of the reply before it (the request's id for the first).
 */
export function encodeReply(
  request: WireRequest,
  reply: Doc,
  stream: { moreToCome: boolean; responseTo: number } = {
    moreToCome: false,
    responseTo: request.requestId,
  },
): Buffer {
  const body = BSON.serialize(reply);
  if (request.opCode === OP_QUERY) {
    const prefix = Buffer.alloc(20);
    prefix.writeInt32LE(1, 16);
    const total = HEADER_BYTES + 20 + body.length;
    return Buffer.concat([header(total, request.requestId, OP_REPLY), prefix, body], total);
  }
  const total = HEADER_BYTES + 5 + body.length;
  const out = Buffer.allocUnsafe(total);
  header(total, stream.responseTo, OP_MSG).copy(out, 0);
  out.writeUInt32LE(stream.moreToCome ? MORE_TO_COME : 0, 16);
  out[20] = 0;
  out.set(body, 21);
  return out;
}

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import { fileTypeFromBuffer } from 'file-type';
import { FILE_MIMES, IMAGE_MIMES } from '../../contracts/media.js';
import { AppError, errors } from '../../errors.js';
import { newStorageKey, type BlobStorage } from './storage.js';

export interface ReceivedFile {
  storageKey: string;
  name: string;
  mime: string;
  kind: 'image' | 'file';
  size: number;
  etag: string;
}

export interface ReceiveOptions {
  storage: BlobStorage;
  field: string;
  maxBytes: number;
  maxFiles: number;
  /**
   * Bytes this user may still store. A promise, so the body streams while it is looked up;
   * bytes are checked against it as soon as it is known, and the request never succeeds before.
   */
  quotaLeft: Promise<number>;
}

/** Bytes file-type needs to recognise every format it knows. */
const SNIFF_BYTES = 4100;
/** Multipart framing allowance per file when checking Content-Length up front. */
const PART_OVERHEAD = 64 * 1024;
/**
 * How far the multipart parser may run ahead of the disk, per file. With Node's 16 KiB default
 * every 64 KiB socket chunk paused the parser until its own write finished: ~160 strictly
 * sequential disk round trips per 10 MiB, each a wake-up on a loaded machine. Bounded, so a
 * request still holds at most about this much of a file (plus the storage's write buffer).
 */
const PARSER_AHEAD_BYTES = 1024 * 1024;

/**
 * Streams a multipart request's files to storage, one at a time as they arrive, never holding a
 * whole file in memory. Each file's type comes from its first bytes; size and quota are counted
 * while streaming. The first problem rejects at once (the route answers 400/413/415 while the
 * client may still be sending) and everything this request wrote is removed.
 */
export function receiveUploads(
  req: IncomingMessage,
  opts: ReceiveOptions,
): Promise<ReceivedFile[]> {
  // Observed at once: a request refused below never reads it, and its failure (a database
  // outage) must not surface as an unhandled rejection. Receiver reports it when it streams.
  opts.quotaLeft.catch(() => undefined);
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data;/i.test(type))
    return Promise.reject(errors.unsupportedMediaType('Send files as multipart/form-data'));
  const length = Number(req.headers['content-length'] ?? NaN);
  if (length > opts.maxFiles * (opts.maxBytes + PART_OVERHEAD))
    return Promise.reject(
      errors.tooLarge(`At most ${opts.maxFiles} files of ${opts.maxBytes} bytes`),
    );
  return new Receiver(req, opts).run();
}

class Receiver {
  private readonly abort = new AbortController();
  private readonly writes: Promise<ReceivedFile | null>[] = [];
  private readonly keys: string[] = [];
  private failure: AppError | null = null;
  private totalBytes = 0;
  /** Unknown until the usage lookup answers: nothing is refused before. */
  private quotaLeft = Infinity;
  private settle!: { resolve: (files: ReceivedFile[]) => void; reject: (e: unknown) => void };

  constructor(
    private readonly req: IncomingMessage,
    private readonly opts: ReceiveOptions,
  ) {}

  run(): Promise<ReceivedFile[]> {
    const done = new Promise<ReceivedFile[]>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    let parser;
    try {
      parser = Busboy({
        fileHwm: PARSER_AHEAD_BYTES,
        headers: { ...this.req.headers, 'content-type': this.req.headers['content-type'] ?? '' },
        limits: {
          files: this.opts.maxFiles,
          fileSize: this.opts.maxBytes,
          fields: 20,
          fieldSize: 1024,
          parts: this.opts.maxFiles + 20,
        },
      });
    } catch {
      return Promise.reject(errors.badRequest('Malformed multipart request'));
    }
    parser.on('file', (field, stream, filename) => {
      // A body that ends inside this file errors its stream, possibly before anything reads it
      // (the write is still making its directory): unheard, that error would crash the process.
      stream.on('error', () => this.fail(errors.badRequest('Malformed multipart request')));
      if (this.failure) return void stream.resume();
      if (field !== this.opts.field) {
        stream.resume();
        return this.fail(
          errors.validation([
            { in: 'body', path: field, message: `send files as "${this.opts.field}"` },
          ]),
        );
      }
      this.writes.push(this.store(stream, filename));
    });
    parser.on('filesLimit', () =>
      this.fail(
        errors.validation([
          { in: 'body', path: this.opts.field, message: `at most ${this.opts.maxFiles} files` },
        ]),
      ),
    );
    parser.on('partsLimit', () => this.fail(errors.badRequest('Too many parts')));
    parser.on('error', () => this.fail(errors.badRequest('Malformed multipart request')));
    parser.on('finish', () => void this.finish());
    this.req.on('aborted', () => this.fail(errors.badRequest('Upload interrupted')));
    this.opts.quotaLeft.then(
      (left) => {
        this.quotaLeft = left;
        this.count(0);
      },
      (error: unknown) => this.fail(error),
    );
    this.req.pipe(parser);
    return done;
  }

  private async store(stream: BusboyFileStream, filename: string) {
    const storageKey = newStorageKey();
    this.keys.push(storageKey);
    const inspect = new Inspect((bytes) => this.count(bytes));
    stream.on('limit', () =>
      this.fail(errors.tooLarge(`A file is larger than ${this.opts.maxBytes} bytes`)),
    );
    try {
      await this.opts.storage.write(`${storageKey}/original`, stream, {
        signal: this.abort.signal,
        transforms: [inspect],
      });
    } catch (error) {
      if (error instanceof AppError) this.fail(error);
      else if (!this.failure) this.fail(error);
      return null;
    }
    if (stream.truncated || !inspect.mime) return null;
    return {
      storageKey,
      name: sanitiseName(filename),
      mime: inspect.mime,
      kind: (IMAGE_MIMES as readonly string[]).includes(inspect.mime)
        ? ('image' as const)
        : ('file' as const),
      size: inspect.bytes,
      etag: inspect.digest(),
    };
  }

  private count(bytes: number): void {
    this.totalBytes += bytes;
    if (this.totalBytes > this.quotaLeft)
      this.fail(errors.tooLarge('Upload quota exceeded: delete attachments or ask an operator'));
  }

  private async finish(): Promise<void> {
    const files = await Promise.all(this.writes);
    await this.opts.quotaLeft.catch(() => undefined); // its failure is reported by fail()
    if (this.failure) return;
    const stored = files.filter((f): f is ReceivedFile => f !== null);
    if (stored.length === 0)
      return this.fail(
        errors.validation([{ in: 'body', path: this.opts.field, message: 'send 1 to 10 files' }]),
      );
    this.settle.resolve(stored);
  }

  /** First failure wins: stop writing, remove what was written, answer with the failure. */
  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error instanceof AppError ? error : errors.internal();
    this.abort.abort(this.failure);
    this.drain();
    const failure = this.failure;
    void this.cleanUp().finally(() => this.settle.reject(failure));
  }

  private async cleanUp(): Promise<void> {
    await Promise.allSettled(this.writes);
    await Promise.allSettled(this.keys.map((key) => this.opts.storage.removePrefix(key)));
  }

  /**
   * The answer goes out at once; the rest of the body is read and discarded so the client can
   * read it, up to one more file's worth; a client that keeps sending after that is cut off.
   */
  private drain(): void {
    this.req.unpipe();
    let discarded = 0;
    this.req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > this.opts.maxBytes) this.req.destroy();
    });
    this.req.resume();
  }
}

/** Decides the type from the first bytes, hashes, and counts, as the bytes pass through. */
class Inspect extends Transform {
  mime: string | null = null;
  bytes = 0;
  private readonly hash = createHash('sha256');
  private head: Buffer[] = [];
  private headBytes = 0;

  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }

  digest(): string {
    return this.hash.digest('hex').slice(0, 32);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    this.hash.update(chunk);
    if (this.mime) return callback(null, chunk);
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) return callback();
    this.decide().then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.mime) return callback();
    this.decide().then(() => callback(), callback);
  }

  private async decide(): Promise<void> {
    const head = Buffer.concat(this.head);
    this.head = [];
    const detected = await fileTypeFromBuffer(head);
    const accepted: readonly string[] = [...IMAGE_MIMES, ...FILE_MIMES];
    if (!detected || !accepted.includes(detected.mime))
      throw errors.unsupportedMediaType(
        `Unsupported file type${detected ? ` (${detected.mime})` : ''}: JPEG, PNG, WebP, GIF or PDF only`,
      );
    this.mime = detected.mime;
    this.push(head);
  }
}

// Control characters and those Windows and shells treat specially.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f<>:"|?*]/g;

/**
 * The client's file name for display only: the last path segment, no control or reserved
 * characters, no leading dots, at most 200 characters. Never used as a storage path.
 */
export function sanitiseName(raw: string): string {
  const base = raw.split(/[/\\]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    .replace(UNSAFE_CHARACTERS, '_')
    .replace(/^[.\s]+/, '')
    .trim()
    .slice(0, 200);
  return cleaned || 'file';
}

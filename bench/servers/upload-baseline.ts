import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * The media-upload row's HTTP baseline: the least code that streams a request body to a file —
 * node:http, the body written as it arrives with the same 1 MiB write buffer as Parley's
 * storage; no auth, no multipart parsing, no type check, no hash, no database, no queue. Its
 * rate is what HTTP on this machine allows at all; it is started with `fork` and sends its URL.
 */
const dir = process.env.UPLOAD_DIR ?? '.';
const server = createServer((req, res) => {
  const file = join(dir, `bare-http-${randomBytes(8).toString('hex')}`);
  pipeline(req, createWriteStream(file, { highWaterMark: 1024 * 1024 })).then(
    () => res.writeHead(202, { 'content-type': 'application/json' }).end('{}'),
    (error: unknown) => res.writeHead(500).end(String(error)),
  );
});
server.listen(0, '127.0.0.1', () => {
  process.send?.(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
process.on('disconnect', () => process.exit(0));

import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadConfig } from '../../src/config.js';
import { processImage } from '../../src/modules/media/images.js';
import type { BenchUser } from '../lib/fixtures.js';
import { compareRuns, withCpu, type Measured } from '../lib/measure.js';
import { round, sleep } from '../lib/stats.js';
import type { Context, RowResult } from '../lib/types.js';
import type { Variant } from './variants.js';

const MiB = 1024 * 1024;
const FILES_PER_REQUEST = 10;

/** The worker's defaults, which the rows measure. */
const { MEDIA_CONCURRENCY, MEDIA_MAX_INPUT_PIXELS } = loadConfig({});

/** What the media group needs of Parley: generous limits, so only the work is measured. */
export const MEDIA_ENV = {
  ROLE: 'all',
  RATE_LIMIT_UPLOADS_PER_MINUTE: '1000000',
  UPLOAD_QUOTA_BYTES: String(1024 * 1024 * MiB),
};

interface Batch {
  count: number;
  ms: number;
  perSecond: number;
}

/** A 2,000 × 1,600 JPEG with shapes and gradients (so it compresses like a picture, not a flat colour). */
async function photo(seed: number): Promise<Buffer> {
  const [w, h] = [2000, 1600];
  const hue = (seed * 47) % 360;
  const svg = `<svg width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="hsl(${hue},70%,40%)"/><stop offset="1" stop-color="hsl(${(hue + 120) % 360},60%,70%)"/>
    </linearGradient></defs>
    <rect width="${w}" height="${h}" fill="url(#g)"/>
    ${Array.from({ length: 40 }, (_, i) => `<circle cx="${(i * 397 + seed * 13) % w}" cy="${(i * 211 + seed * 7) % h}" r="${40 + ((i * 31) % 160)}" fill="hsl(${(hue + i * 9) % 360},80%,55%)" fill-opacity="0.6"/>`).join('')}
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 88 }).toBuffer();
}

/** A multipart body built once, so the load generator's own encoding is not what is measured. */
function multipart(files: { name: string; data: Buffer }[]): { type: string; body: Buffer } {
  const boundary = `----parley-bench-${randomBytes(8).toString('hex')}`;
  const parts = files.flatMap((f) => [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${f.name}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
    f.data,
    Buffer.from('\r\n'),
  ]);
  return {
    type: `multipart/form-data; boundary=${boundary}`,
    body: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]),
  };
}

/**
 * One upload, sent with node:http on a kept-alive connection: `fetch` (undici) sent a 10 MiB body
 * at a third of node:http's rate here, so the load generator, not the server, was measured.
 */
const agent = new Agent({ keepAlive: true });

function post(url: string, user: BenchUser | null, request: { type: string; body: Buffer }) {
  return new Promise<void>((resolve, reject) => {
    const target = new URL('/api/uploads', url);
    const req = httpRequest(
      target,
      {
        method: 'POST',
        agent,
        headers: {
          ...(user ? { authorization: `Bearer ${user.token}` } : {}),
          'content-type': request.type,
          'content-length': request.body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 202
            ? resolve()
            : reject(
                new Error(`upload answered ${res.statusCode}: ${Buffer.concat(chunks).toString()}`),
              ),
        );
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

/** A side measured in a batch: its processes (for CPU) and one batch. */
interface Side {
  pids: Record<string, number>;
  run: () => Promise<Batch>;
}

/**
 * Parley's batches against the bare ones (and, when given, a second baseline), alternately in
 * the same run: per-second medians and CPU per item, Parley ÷ each baseline.
 */
async function compareBatches(
  ctx: Context,
  parley: Side,
  bare: Side,
  digits: number,
  second?: Side,
) {
  const runs: Record<'parley' | 'bare' | 'second', Measured<Batch>[]> = {
    parley: [],
    bare: [],
    second: [],
  };
  for (let rep = 0; rep < ctx.profile.heavyReps; rep += 1) {
    runs.parley.push(await withCpu(parley.pids, parley.run));
    runs.bare.push(await withCpu(bare.pids, bare.run));
    if (second) runs.second.push(await withCpu(second.pids, second.run));
  }
  const against = (b: Measured<Batch>[]) =>
    compareRuns(
      { a: runs.parley, b },
      (v) => v.perSecond,
      (v) => v.count,
      { digits },
    );
  return { main: against(runs.bare), second: second ? against(runs.second) : null };
}

/**
 * `media-thumbnails`: 2,000 × 1,600 JPEGs uploaded (10 per request) until every one is `ready`
 * — the worker decoded it, stripped its metadata, made the 150/300/600 thumbnails and stored
 * everything — against the same `processImage` calls made directly with sharp, at the worker's
 * default concurrency: what the queue, tasks, database and disk add to sharp's own work.
 */
async function thumbnailsRow(
  ctx: Context,
  parley: Variant,
  user: BenchUser,
  photos: Buffer[],
): Promise<RowResult> {
  const attachments = parley.fixtures.mongo.db.collection('attachments');
  const requests: { type: string; body: Buffer }[] = [];
  for (let i = 0; i < photos.length; i += FILES_PER_REQUEST)
    requests.push(
      multipart(
        photos.slice(i, i + FILES_PER_REQUEST).map((data, j) => ({ name: `p${i + j}.jpg`, data })),
      ),
    );
  const pids = { server: parley.parley.pid, engine: parley.enginePid, ...ctx.servicePids };
  const viaParley = async (): Promise<Batch> => {
    const before = await attachments.countDocuments({ ownerId: user.userId, status: 'ready' });
    const started = performance.now();
    for (const request of requests) await post(parley.parley.url, user, request);
    const deadline = Date.now() + 600_000;
    for (;;) {
      const ready = await attachments.countDocuments({ ownerId: user.userId, status: 'ready' });
      if (ready - before >= photos.length) break;
      if (Date.now() > deadline)
        throw new Error(`only ${ready - before} of ${photos.length} ready`);
      await sleep(20);
    }
    const ms = performance.now() - started;
    return { count: photos.length, ms, perSecond: (photos.length * 1000) / ms };
  };
  const bare = async (): Promise<Batch> => {
    const signal = new AbortController().signal;
    const started = performance.now();
    let next = 0;
    const lane = async () => {
      while (next < photos.length) {
        const input = photos[next++] ?? Buffer.alloc(0);
        await processImage(input, 'image/jpeg', {
          maxPixels: MEDIA_MAX_INPUT_PIXELS,
          signal,
          progress: () => undefined,
        });
      }
    };
    await Promise.all(Array.from({ length: MEDIA_CONCURRENCY }, lane));
    const ms = performance.now() - started;
    return { count: photos.length, ms, perSecond: (photos.length * 1000) / ms };
  };
  ctx.log(`media-thumbnails: ${photos.length} images × ${ctx.profile.heavyReps} each side`);
  const { main: m } = await compareBatches(
    ctx,
    { pids, run: viaParley },
    { pids: { bench: process.pid }, run: bare },
    1,
  );
  const minRatio = 0.7;
  return {
    id: 'media-thumbnails',
    scenario: `2,000 × 1,600 JPEG → metadata stripped + WebP 150/300/600, ${photos.length} images uploaded 10 per request until all are ready (worker concurrency ${MEDIA_CONCURRENCY}) vs the same sharp work called directly`,
    unit: 'images/s',
    ...m.reported,
    ratioNote: 'Parley images/s ÷ bare sharp images/s',
    budget: `≥ ${minRatio}×`,
    met: m.ratio >= minRatio,
    details: { imageBytes: photos[0]?.length ?? 0 },
  };
}

/** The bare streaming-upload server (bench/servers/upload-baseline.ts) as a child process. */
async function startUploadBaseline(uploadDir: string) {
  const child = fork(new URL('../servers/upload-baseline.js', import.meta.url), {
    env: { PATH: process.env.PATH ?? '', UPLOAD_DIR: uploadDir },
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve(m as string));
    child.once('exit', (code) => reject(new Error(`upload baseline exited with ${code}`)));
  });
  return { url, pid: child.pid ?? 0, stop: () => void child.kill() };
}

/**
 * `media-upload`: 10 MiB files through `POST /api/uploads` (multipart parsed as it streams,
 * type sniffed, hashed, written under a generated key, attachment + task stored, job published)
 * against writing the same bytes to a file in the same directory — and, in the same run, against
 * a bare node:http server that streams the body to a file (what HTTP here allows at all).
 */
async function uploadRow(
  ctx: Context,
  parley: Variant,
  user: BenchUser,
  uploadDir: string,
  files: number,
): Promise<RowResult> {
  // A PDF (accepted, and its task only marks it ready): the row measures the upload path.
  const body = Buffer.concat([
    Buffer.from('%PDF-1.4\n'),
    randomBytes(10 * MiB - 16),
    Buffer.from('\n%%EOF\n'),
  ]);
  const request = multipart([{ name: 'report.pdf', data: body }]);
  const pids = { server: parley.parley.pid, engine: parley.enginePid, ...ctx.servicePids };
  const mbps = (ms: number) => (files * body.length) / MiB / (ms / 1000);
  const batch = async (send: () => Promise<unknown>): Promise<Batch> => {
    const started = performance.now();
    for (let i = 0; i < files; i += 1) await send();
    const ms = performance.now() - started;
    return { count: files, ms, perSecond: mbps(ms) };
  };
  const bare = async (): Promise<Batch> => {
    const started = performance.now();
    for (let i = 0; i < files; i += 1) await writeFile(join(uploadDir, `baseline-${i}`), body);
    const ms = performance.now() - started;
    for (let i = 0; i < files; i += 1) await rm(join(uploadDir, `baseline-${i}`), { force: true });
    return { count: files, ms, perSecond: mbps(ms) };
  };
  const http = await startUploadBaseline(uploadDir);
  ctx.log(`media-upload: ${files} × 10 MiB × ${ctx.profile.heavyReps} each side`);
  try {
    const { main: m, second: h } = await compareBatches(
      ctx,
      { pids, run: () => batch(() => post(parley.parley.url, user, request)) },
      { pids: { bench: process.pid }, run: bare },
      0,
      {
        pids: { bench: process.pid, server: http.pid },
        run: () => batch(() => post(http.url, null, request)),
      },
    );
    const minRatio = 0.3;
    return {
      id: 'media-upload',
      scenario: `${files} uploads of one 10 MiB file each, one after another (multipart streamed, sniffed, hashed, stored; attachment, task and job recorded) vs writing the same bytes to a file`,
      unit: 'MiB/s',
      ...m.reported,
      ratioNote: 'Parley MiB/s ÷ plain file write MiB/s',
      budget: `≥ ${minRatio}×`,
      met: m.ratio >= minRatio,
      details: {
        bareHttp: h && {
          note: 'bare node:http server streaming the same request body to a file, same run',
          mibPerSecond: h.reported.baseline,
          samples: h.reported.samples.baseline,
          parleyRatio: h.reported.ratio,
          bareHttpToFileWrite: round(h.baseline / m.baseline, 3),
          cpuMsPerUpload: h.reported.cpuMsPerOp?.baseline,
        },
      },
    };
  } finally {
    http.stop();
  }
}

/** Both media rows on one Parley (ROLE=all, MEDIA_ENV) whose uploads go to `uploadDir`. */
export async function mediaRows(
  ctx: Context,
  parley: Variant,
  uploadDir: string,
): Promise<RowResult[]> {
  const sizes = { smoke: [4, 2], quick: [20, 10], full: [60, 30] } as const;
  const [images, files] = sizes[ctx.profile.name];
  const [user] = await parley.fixtures.usersWithTokens(1);
  if (!user) throw new Error('no bench user');
  ctx.log(`media: generating ${images} photos`);
  const photos = await Promise.all(Array.from({ length: images }, (_, i) => photo(i)));
  return [
    await thumbnailsRow(ctx, parley, user, photos),
    await uploadRow(ctx, parley, user, uploadDir, files),
  ];
}

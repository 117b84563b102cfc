import { readdir } from 'node:fs/promises';
import sharp from 'sharp';
import type { AttachmentView } from '../../src/contracts/media.js';
import type { TaskView } from '../../src/contracts/tasks.js';
import { http, type Registered } from './http.js';
import { eventually } from './sockets.js';

export interface UploadFile {
  name: string;
  data: Uint8Array;
  /** The type the client claims; Parley ignores it. */
  type?: string;
}

export interface Upload {
  attachment: AttachmentView;
  task: TaskView;
}

/** A real multipart POST /api/uploads (fetch's FormData), every file under `field`. */
export async function upload(
  url: string,
  who: Registered,
  files: UploadFile[],
  field = 'files',
): Promise<{ status: number; body: { uploads: Upload[]; error?: { code: string } } }> {
  const form = new FormData();
  for (const file of files)
    form.append(
      field,
      new Blob([file.data], { type: file.type ?? 'application/octet-stream' }),
      file.name,
    );
  const res = await fetch(`${url}/api/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${who.accessToken}` },
    body: form,
  });
  return {
    status: res.status,
    body: (await res.json()) as { uploads: Upload[]; error?: { code: string } },
  };
}

/** Waits until the task is in a final state and returns it. */
export async function finishedTask(url: string, who: Registered, id: string): Promise<TaskView> {
  let task: TaskView | null = null;
  await eventually(
    async () => {
      const res = await http<{ task: TaskView }>(url, 'GET', `/api/tasks/${id}`, {
        token: who.accessToken,
      });
      task = res.body.task;
      return ['succeeded', 'failed', 'cancelled'].includes(task.state);
    },
    30_000,
    `task ${id} to finish`,
  );
  return task as unknown as TaskView;
}

export async function attachment(url: string, who: Registered, id: string) {
  return http<{ attachment: AttachmentView }>(url, 'GET', `/api/attachments/${id}`, {
    token: who.accessToken,
  });
}

/** GET the bytes of a variant. */
export async function content(
  url: string,
  who: Registered,
  id: string,
  variant?: string,
  headers: Record<string, string> = {},
) {
  const res = await fetch(
    `${url}/api/attachments/${id}/content${variant ? `?variant=${variant}` : ''}`,
    { headers: { authorization: `Bearer ${who.accessToken}`, ...headers } },
  );
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** Every file under `dir`, recursively (what a test leaves on disk). */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => `${e.parentPath}/${e.name}`);
}

/** A generated test image: a gradient-ish picture in the given format. */
export async function image(
  format: 'png' | 'jpeg' | 'webp' | 'gif',
  width: number,
  height: number,
  options: { exif?: boolean } = {},
): Promise<Buffer> {
  let pipeline = sharp({
    create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } },
  }).composite([
    {
      input: Buffer.from(
        `<svg width="${width}" height="${height}"><circle cx="${width / 2}" cy="${height / 2}" r="${Math.min(width, height) / 3}" fill="#2060c0"/></svg>`,
      ),
    },
  ]);
  if (options.exif)
    pipeline = pipeline.withExif({
      IFD0: { Artist: 'secret-artist', Copyright: 'secret-gps-owner' },
    });
  return pipeline.toFormat(format).toBuffer();
}

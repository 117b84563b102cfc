import type { Logger } from '../../logger.js';
import type { AttachmentsRepository } from './attachments.repository.js';
import { DISPLAY_SIZE, resized } from './images.js';
import { etagOf } from './media.processor.js';
import type { BlobStorage } from './storage.js';

export const ORPHAN_CLEANUP_JOB = 'media-orphan-cleanup';
export const OPTIMIZE_JOB = 'media-optimize';

/** A stored prefix younger than this may belong to an upload still being written. */
const STRAY_GRACE_MS = 3600_000;
const BATCH = 100;

export interface MaintenanceOptions {
  orphanHours: number;
  optimizeBytes: number;
  maxPixels: number;
}

/**
 * The nightly media jobs (SPEC §12). Each is idempotent, so a run taken over after its
 * scheduler died simply does the rest.
 */
export class MediaMaintenance {
  constructor(
    private readonly attachments: AttachmentsRepository,
    private readonly storage: BlobStorage,
    private readonly logger: Logger,
    private readonly options: MaintenanceOptions,
  ) {}

  /**
   * Removes uploads never sent with a message within UPLOAD_ORPHAN_HOURS (document and bytes),
   * and stored files that no document owns (an upload whose process died mid-request), once
   * they are an hour old.
   */
  async cleanOrphans(now = new Date()) {
    const cutoff = new Date(now.getTime() - this.options.orphanHours * 3600_000);
    let orphanAttachments = 0;
    for (;;) {
      const batch = await this.attachments.unattachedBefore(cutoff, BATCH);
      for (const a of batch) {
        await this.storage.removePrefix(a.storageKey);
        if (await this.attachments.remove(a.id)) orphanAttachments += 1;
      }
      if (batch.length < BATCH) break;
    }
    let orphanFiles = 0;
    let pending: string[] = [];
    const sweep = async () => {
      const known = await this.attachments.knownStorageKeys(pending);
      for (const prefix of pending.filter((p) => !known.has(p))) {
        await this.storage.removePrefix(prefix);
        orphanFiles += 1;
      }
      pending = [];
    };
    for await (const { prefix, modifiedAt } of this.storage.listPrefixes()) {
      if (now.getTime() - modifiedAt.getTime() < STRAY_GRACE_MS) continue;
      pending.push(prefix);
      if (pending.length >= BATCH) await sweep();
    }
    await sweep();
    return { orphanAttachments, orphanFiles };
  }

  /** Originals over UPLOAD_OPTIMIZE_BYTES get a ≤ 1600 px WebP `display` variant. */
  async optimize() {
    let optimized = 0;
    let failed = 0;
    const seen = new Set<string>();
    for (;;) {
      const batch = (
        await this.attachments.needingDisplay(this.options.optimizeBytes, BATCH)
      ).filter((a) => !seen.has(a.id));
      if (batch.length === 0) break;
      for (const a of batch) {
        seen.add(a.id);
        try {
          const input = await readAll(this.storage.read(`${a.storageKey}/original`));
          const display = await resized(input, DISPLAY_SIZE, this.options.maxPixels);
          await this.storage.writeBuffer(`${a.storageKey}/display`, display.data);
          await this.attachments.addVariant(a.id, 'display', {
            size: display.data.length,
            mime: display.mime,
            etag: etagOf(display.data),
          });
          optimized += 1;
        } catch (error) {
          failed += 1;
          this.logger.warn({ err: error, attachmentId: a.id }, 'could not optimize attachment');
        }
      }
    }
    return { optimized, failed };
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

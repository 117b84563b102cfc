import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { THUMBNAIL_SIZES, type MediaJob, type Variant } from '../../contracts/media.js';
import type { Logger } from '../../logger.js';
import type { TaskContext, TaskDelivery, TaskRunner } from '../tasks/task-runner.js';
import { TaskCancelledError, TaskFailedError } from '../tasks/task-runner.js';
import type { TaskData } from '../tasks/tasks.repository.js';
import type { Attachment, AttachmentsRepository, StoredVariant } from './attachments.repository.js';
import { processImage, type Encoded } from './images.js';
import type { BlobStorage } from './storage.js';

export interface MediaProcessorOptions {
  maxPixels: number;
  /** Attachment outcomes for other consumers (domain events), when wired. */
  onOutcome?: (attachment: Attachment) => void;
}

/**
 * The worker side of uploads: one `media_processing_queue` job = one task = one attachment.
 * Decoding happens in memory; variants are written only once everything decoded, originals
 * last, so a failure or a cancel removes a known set of files. Re-running a job (redelivery
 * after a crash) rewrites the same keys: the outcome is the same.
 */
export class MediaProcessor {
  constructor(
    private readonly attachments: AttachmentsRepository,
    private readonly storage: BlobStorage,
    private readonly runner: TaskRunner,
    private readonly logger: Logger,
    private readonly options: MediaProcessorOptions,
  ) {}

  async handle(job: MediaJob, delivery: TaskDelivery, signal: AbortSignal): Promise<void> {
    const ran = await this.runner.run(
      job.taskId,
      (ctx) => this.process(job.attachmentId, ctx),
      delivery,
      signal,
    );
    if (ran) return;
    // Cancelled before it started: the upload will never be processed, so it goes.
    const task = await this.runner.current(job.taskId);
    const attachment = await this.attachments.findById(job.attachmentId);
    if (task?.state === 'cancelled' && attachment?.status === 'processing')
      await this.discard(attachment, 'Processing was cancelled');
  }

  private async process(attachmentId: string, ctx: TaskContext): Promise<TaskData> {
    const attachment = await this.attachments.findById(attachmentId);
    if (!attachment) throw new TaskFailedError('The attachment no longer exists');
    if (attachment.kind !== 'image') {
      const ready = await this.attachments.markReady(attachment.id, {
        size: attachment.size,
        variants: attachment.variants,
      });
      if (ready) this.options.onOutcome?.(ready);
      return { attachmentId: attachment.id };
    }
    try {
      return await this.processImage(attachment, ctx);
    } catch (error) {
      const cancelled = ctx.signal.reason instanceof TaskCancelledError;
      await this.discard(attachment, cancelled ? 'Processing was cancelled' : error);
      throw error;
    }
  }

  private async processImage(attachment: Attachment, ctx: TaskContext): Promise<TaskData> {
    const input = await readAll(this.storage.read(`${attachment.storageKey}/original`));
    const image = await processImage(input, attachment.mime, {
      maxPixels: this.options.maxPixels,
      signal: ctx.signal,
      progress: (fraction) => ctx.progress(fraction * 0.9),
    });
    const variants: Attachment['variants'] = { ...attachment.variants };
    for (const size of THUMBNAIL_SIZES) {
      variants[`${size}`] = await this.put(attachment, `${size}`, image.thumbnails[size]);
    }
    ctx.signal.throwIfAborted();
    if (image.original) variants.original = await this.put(attachment, 'original', image.original);
    const ready = await this.attachments.markReady(attachment.id, {
      width: image.width,
      height: image.height,
      size: variants.original?.size ?? attachment.size,
      variants,
    });
    if (ready) this.options.onOutcome?.(ready);
    return { attachmentId: attachment.id, width: image.width, height: image.height };
  }

  private async put(a: Attachment, variant: Variant, encoded: Encoded): Promise<StoredVariant> {
    await this.storage.writeBuffer(`${a.storageKey}/${variant}`, encoded.data);
    return { size: encoded.data.length, mime: encoded.mime, etag: etagOf(encoded.data) };
  }

  /**
   * A file that will never become an attachment: its bytes are removed (a cancelled one's
   * partial variants too) and it is marked failed, so it can no longer be sent or read.
   * Errors the queue retries (storage or database trouble) keep the file for the next attempt.
   */
  private async discard(attachment: Attachment, cause: unknown): Promise<void> {
    const final = cause instanceof TaskFailedError || typeof cause === 'string';
    if (!final) return;
    const reason = typeof cause === 'string' ? cause : cause.message;
    await this.storage.removePrefix(attachment.storageKey);
    const failed = await this.attachments.markFailed(attachment.id, reason);
    this.logger.info({ attachmentId: attachment.id, reason }, 'attachment failed');
    if (failed) this.options.onOutcome?.(failed);
  }
}

export function etagOf(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 32);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

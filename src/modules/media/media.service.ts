import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import {
  THUMBNAIL_SIZES,
  type AttachmentView,
  type MediaJob,
  type UploadResult,
  type Variant,
} from '../../contracts/media.js';
import { errors } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { MembershipCache } from '../conversations/membership.cache.js';
import type { AttachmentLinks } from '../messages/messages.service.js';
import type { TasksService } from '../tasks/tasks.service.js';
import type { Attachment, AttachmentsRepository } from './attachments.repository.js';
import type { BlobStorage } from './storage.js';
import { receiveUploads } from './uploads.js';

export const MEDIA_TASK = 'media.process';
export const MAX_FILES = 10;

export interface MediaQueue {
  /** Publishes with confirms; returns the jobs the broker did not confirm. */
  publish(jobs: MediaJob[]): Promise<MediaJob[]>;
}

export interface MediaOptions {
  maxBytes: number;
  quotaBytes: number;
}

export type Content =
  | { notModified: true; etag: string }
  | {
      notModified: false;
      etag: string;
      mime: string;
      size: number;
      name: string;
      inline: boolean;
      stream: Readable;
    };

/**
 * Uploads and reading attachments (api side). Processing happens in the worker
 * (MediaProcessor); access is the uploader's, or any member's of a conversation where the
 * attachment was sent — anyone else gets 404, as for conversations.
 */
export class MediaService implements AttachmentLinks {
  constructor(
    private readonly attachments: AttachmentsRepository,
    private readonly storage: BlobStorage,
    private readonly tasks: TasksService,
    private readonly membership: MembershipCache,
    private readonly queue: MediaQueue,
    private readonly logger: Logger,
    private readonly options: MediaOptions,
  ) {}

  async upload(ownerId: string, request: IncomingMessage): Promise<UploadResult> {
    const files = await receiveUploads(request, {
      storage: this.storage,
      field: 'files',
      maxBytes: this.options.maxBytes,
      maxFiles: MAX_FILES,
      quotaLeft: this.attachments
        .usageOf(ownerId)
        .then((used) => Math.max(0, this.options.quotaBytes - used)),
    });
    const planned = await Promise.all(
      files.map(async (file) => {
        const id = this.attachments.newId();
        const task = await this.tasks.create(MEDIA_TASK, ownerId, { attachmentId: id });
        return { id, file, task };
      }),
    );
    const stored = await this.attachments.insertMany(
      planned.map(({ id, file, task }) => ({
        id,
        ownerId,
        kind: file.kind,
        mime: file.mime,
        size: file.size,
        name: file.name,
        storageKey: file.storageKey,
        variants: { original: { size: file.size, mime: file.mime, etag: file.etag } },
        taskId: task.id,
      })),
    );
    const jobs = planned.map(({ id, task }) => ({ taskId: task.id, attachmentId: id }));
    const refused = await this.queue.publish(jobs).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'media jobs could not be published');
      return jobs;
    });
    if (refused.length) {
      await this.withdraw(planned, refused);
      throw errors.unavailable(
        'Uploads cannot be processed right now; nothing was kept. Please try again shortly.',
      );
    }
    return {
      uploads: stored.map((attachment, i) => ({
        attachment: presentAttachment(attachment),
        task: planned[i]?.task ?? (undefined as never),
      })),
    };
  }

  /**
   * An upload whose jobs the broker did not take is answered 503 and kept nowhere: its files and
   * attachments go, and its tasks end `failed` (their owner already heard of them as queued).
   * A job confirmed despite the rest finds its task failed or gone and does nothing.
   */
  private async withdraw(
    planned: { id: string; file: { storageKey: string }; task: { id: string } }[],
    refused: MediaJob[],
  ): Promise<void> {
    await this.tasks.failQueued(
      planned.map(({ task }) => task.id),
      'The upload could not be queued for processing (message broker unavailable)',
    );
    await this.attachments.removeMany(planned.map(({ id }) => id));
    await Promise.all(planned.map(({ file }) => this.storage.removePrefix(file.storageKey)));
    this.logger.warn({ refused: refused.length, files: planned.length }, 'upload withdrawn');
  }

  async view(userId: string, id: string): Promise<AttachmentView> {
    return presentAttachment(await this.requireReadable(userId, id));
  }

  async content(
    userId: string,
    id: string,
    variant: Variant,
    ifNoneMatch: string | undefined,
  ): Promise<Content> {
    const attachment = await this.requireReadable(userId, id);
    const stored = attachment.variants[variant];
    if (!stored || attachment.status === 'failed') throw errors.notFound('Attachment variant');
    const etag = `"${stored.etag}"`;
    if (ifNoneMatch && ifNoneMatch.split(/\s*,\s*/).includes(etag))
      return { notModified: true, etag };
    return {
      notModified: false,
      etag,
      mime: stored.mime,
      size: stored.size,
      name: attachment.name,
      inline: attachment.kind === 'image',
      stream: this.storage.read(`${attachment.storageKey}/${variant}`),
    };
  }

  /** AttachmentLinks for messages: the sender's own, none failed, as they look now. */
  async resolve(senderId: string, ids: readonly string[]): Promise<AttachmentView[]> {
    return (await this.requireAttachable(senderId, ids)).map(presentAttachment);
  }

  link(ids: readonly string[], messageId: string, conversationId: string): Promise<void> {
    return this.attachments.attach(ids, messageId, conversationId);
  }

  unlink(ids: readonly string[], messageId: string): Promise<void> {
    return this.attachments.detachMessage(ids, messageId);
  }

  /** The sender's own attachments, none failed, in the order given. */
  async requireAttachable(ownerId: string, ids: readonly string[]): Promise<Attachment[]> {
    const unique = [...new Set(ids)];
    const found = await this.attachments.findByIds(unique);
    const usable = found.filter((a) => a.ownerId === ownerId && a.status !== 'failed');
    if (usable.length !== unique.length) {
      throw errors.validation(
        [{ in: 'body', path: 'attachmentIds', message: 'unknown, not yours, or failed' }],
        'Some attachments cannot be sent',
      );
    }
    return usable;
  }

  private async requireReadable(userId: string, id: string): Promise<Attachment> {
    const attachment = await this.attachments.findById(id);
    if (!attachment) throw errors.notFound('Attachment');
    if (attachment.ownerId === userId) return attachment;
    const conversations = [...new Set(attachment.sentIn.map((s) => s.conversationId))];
    for (const conversationId of conversations) {
      if (await this.membership.isMember(conversationId, userId)) return attachment;
    }
    throw errors.notFound('Attachment');
  }
}

export function attachmentUrl(id: string, variant?: Variant): string {
  const base = `/api/attachments/${id}/content`;
  return variant && variant !== 'original' ? `${base}?variant=${variant}` : base;
}

export function presentAttachment(a: Attachment): AttachmentView {
  const hasThumbnails = THUMBNAIL_SIZES.every((size) => a.variants[`${size}`]);
  return {
    id: a.id,
    ownerId: a.ownerId,
    kind: a.kind,
    mime: a.mime,
    size: a.size,
    name: a.name,
    ...(a.width !== undefined ? { width: a.width } : {}),
    ...(a.height !== undefined ? { height: a.height } : {}),
    status: a.status,
    ...(a.error !== undefined ? { error: a.error } : {}),
    url: attachmentUrl(a.id),
    ...(hasThumbnails
      ? {
          thumbnails: {
            '150': attachmentUrl(a.id, '150'),
            '300': attachmentUrl(a.id, '300'),
            '600': attachmentUrl(a.id, '600'),
          },
        }
      : {}),
    ...(a.variants.display ? { display: attachmentUrl(a.id, 'display') } : {}),
    createdAt: a.createdAt.toISOString(),
  };
}

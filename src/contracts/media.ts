import { z } from 'zod';
import { ObjectIdString } from './common.js';
import { TaskView } from './tasks.js';

/** Attachments (SPEC §12): uploads, their processing job, and what clients see of them. */

export const THUMBNAIL_SIZES = [150, 300, 600] as const;
export type ThumbnailSize = (typeof THUMBNAIL_SIZES)[number];

/** Stored variants of an attachment: the original, thumbnails, and media-optimize's display copy. */
export const Variant = z.enum(['original', '150', '300', '600', 'display']);
export type Variant = z.infer<typeof Variant>;

/** Types accepted, decided from the bytes. */
export const IMAGE_MIMES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'] as const;
export const FILE_MIMES = ['application/pdf'] as const;

export const AttachmentView = z
  .object({
    id: z.string(),
    ownerId: z.string(),
    kind: z.enum(['image', 'file']),
    mime: z.string().describe('Detected from the bytes, never from the name'),
    size: z.number().int().describe('Bytes of the original as stored'),
    name: z.string().describe("The client's file name, sanitised; display only"),
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    status: z.enum(['processing', 'ready', 'failed']),
    error: z.string().optional(),
    url: z.string(),
    thumbnails: z
      .object({ '150': z.string(), '300': z.string(), '600': z.string() })
      .optional()
      .describe('WebP, longest side at most 150/300/600 px (never upscaled)'),
    display: z.string().optional().describe('A ≤ 1600 px WebP copy of a large original'),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Attachment' });
export type AttachmentView = z.infer<typeof AttachmentView>;

export const AttachmentResult = z.object({ attachment: AttachmentView });

export const UploadResult = z.object({
  uploads: z.array(z.object({ attachment: AttachmentView, task: TaskView })),
});
export type UploadResult = z.infer<typeof UploadResult>;

export const ContentQuery = z.strictObject({ variant: Variant.default('original') });

/** `attachmentIds` on both send paths: 1–10 of the sender's own, not failed. */
export const AttachmentIds = z.array(ObjectIdString).min(1).max(10);

/** What travels on `media_processing_queue`. */
export const MediaJob = z.strictObject({
  taskId: ObjectIdString,
  attachmentId: ObjectIdString,
});
export type MediaJob = z.infer<typeof MediaJob>;

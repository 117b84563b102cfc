import { BinaryBody, errorResponse, route, type RouteDef } from '../../http/route.js';
import { IdParams } from '../../contracts/common.js';
import { AttachmentResult, ContentQuery, UploadResult } from '../../contracts/media.js';
import type { MediaService } from './media.service.js';

const tag = 'attachments';
const hidden = { 404: errorResponse('No such attachment you may read') };

export function mediaRoutes(media: MediaService): RouteDef[] {
  return [
    route({
      method: 'post',
      path: '/api/uploads',
      summary: 'Upload 1–10 files (field `files`); each is processed in the background (its task)',
      tag,
      access: 'user',
      limit: 'uploads',
      multipart: {
        field: 'files',
        description:
          'JPEG, PNG, WebP, GIF or PDF (decided from the bytes), each ≤ UPLOAD_MAX_BYTES',
      },
      responses: {
        202: { description: 'Stored; processing queued', schema: UploadResult },
        400: errorResponse('No files, more than 10, or a malformed request'),
        401: errorResponse('Not logged in'),
        413: errorResponse('A file over UPLOAD_MAX_BYTES, or the quota is used up'),
        415: errorResponse('Not multipart, or a file type that is not accepted'),
        429: errorResponse('Rate limited'),
      },
      handler: async ({ auth, request }) => ({
        status: 202,
        body: await media.upload(auth.userId, request),
      }),
    }),
    route({
      method: 'get',
      path: '/api/attachments/:id',
      summary: 'An attachment (its uploader, or members of a conversation where it was sent)',
      tag,
      access: 'user',
      params: IdParams,
      responses: {
        200: { description: 'The attachment', schema: AttachmentResult },
        401: errorResponse('Not logged in'),
        ...hidden,
      },
      handler: async ({ auth, params }) => ({
        status: 200,
        body: { attachment: await media.view(auth.userId, params.id) },
      }),
    }),
    route({
      method: 'get',
      path: '/api/attachments/:id/content',
      summary: 'The bytes of the original or a variant (ETag / If-None-Match)',
      tag,
      access: 'user',
      params: IdParams,
      query: ContentQuery,
      responses: {
        200: { description: 'The bytes, with their stored Content-Type', binary: true },
        304: { description: 'Not modified' },
        400: errorResponse('Unknown variant'),
        401: errorResponse('Not logged in'),
        ...hidden,
      },
      handler: async ({ auth, params, query, request }) => {
        const ifNoneMatch = request.headers['if-none-match'];
        const content = await media.content(auth.userId, params.id, query.variant, ifNoneMatch);
        const common = {
          etag: content.etag,
          'cache-control': 'private, max-age=0, must-revalidate',
        };
        if (content.notModified) return { status: 304, headers: common };
        return {
          status: 200,
          headers: {
            ...common,
            'content-type': content.mime,
            'content-length': String(content.size),
            'x-content-type-options': 'nosniff',
            'content-disposition': content.inline
              ? 'inline'
              : `attachment; filename*=UTF-8''${encodeURIComponent(content.name)}`,
          },
          body: new BinaryBody(content.stream),
        };
      },
    }),
  ];
}

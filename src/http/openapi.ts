import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { CONTRACT_VERSIONS } from '../contracts/versions.js';
import type { RouteDef } from './route.js';

/** OpenAPI 3.1 built from the same route definitions (and zod schemas) that validate input. */
export function buildOpenApi(routes: RouteDef[]) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
  for (const def of routes) {
    registry.registerPath({
      method: def.method,
      path: def.path.replace(/:(\w+)/g, '{$1}'),
      summary: def.summary,
      tags: [def.tag],
      ...(def.access === 'public' ? {} : { security: [{ bearer: [] }] }),
      request: {
        ...(def.params ? { params: def.params as never } : {}),
        ...(def.query ? { query: def.query as never } : {}),
        ...(def.body
          ? {
              body: {
                content: { 'application/json': { schema: def.body } },
                // A route whose schema takes `undefined` runs without a body (the plan route).
                required: !def.body.safeParse(undefined).success,
              },
            }
          : {}),
        ...(def.multipart ? { body: multipartBody(def.multipart) } : {}),
      },
      responses: Object.fromEntries(
        Object.entries(def.responses).map(([status, r]) => [
          status,
          {
            description: r.description,
            ...(r.schema ? { content: { 'application/json': { schema: r.schema } } } : {}),
            ...(r.binary ? { content: { 'application/octet-stream': { schema: BYTES } } } : {}),
          },
        ]),
      ),
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Parley API',
      version: CONTRACT_VERSIONS.rest,
      description:
        'Real-time messaging. Errors are `{error: {code, message, details?}}`. Socket.IO events are described in docs/REALTIME.md.',
    },
    servers: [{ url: '/' }],
  });
}

const BYTES = { type: 'string', format: 'binary' } as const;

function multipartBody(part: { field: string; description: string }) {
  return {
    description: part.description,
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object' as const,
          properties: { [part.field]: { type: 'array' as const, items: BYTES } },
          required: [part.field],
        },
      },
    },
  };
}

import { errorResponse, route, type RouteDef } from '../../http/route.js';
import { SearchPage, SearchQuery } from '../../contracts/search.js';
import type { SearchService } from './search.service.js';

export function searchRoutes(search: SearchService): RouteDef[] {
  return [
    route({
      method: 'get',
      path: '/api/search/messages',
      summary:
        'Messages with every word of q in my conversations: best match first, then newest; cursor pages',
      tag: 'search',
      access: 'user',
      query: SearchQuery,
      responses: {
        200: { description: 'A page of matches', schema: SearchPage },
        400: errorResponse('Bad q, conversationId or cursor'),
        401: errorResponse('Not logged in'),
        404: errorResponse('No such conversation among yours'),
      },
      handler: async ({ auth, query }) => ({
        status: 200,
        body: await search.searchMessages(auth.userId, query),
      }),
    }),
  ];
}

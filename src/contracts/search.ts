import { z } from 'zod';
import { Limit, ObjectIdString, page } from './common.js';
import { MessageView } from './messages.js';

/** `GET /api/search/messages` (SPEC §11). */
export const SearchQuery = z.object({
  q: z
    .string()
    .min(1, 'must not be empty')
    .max(200, 'at most 200 characters')
    .describe(
      'Words to find, every one of them, as whole words; case and diacritics do not matter. Quotes, `-` and other punctuation only separate words.',
    ),
  conversationId: ObjectIdString.optional().describe('Only this conversation (you must be in it)'),
  limit: Limit,
  cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
});

export const SearchConversation = z
  .object({
    id: z.string(),
    type: z.enum(['direct', 'group']),
    name: z.string().optional(),
  })
  .meta({ id: 'SearchConversation' });

export const SearchItem = z
  .object({ message: MessageView, conversation: SearchConversation })
  .meta({ id: 'SearchItem' });

export const SearchPage = page(SearchItem, 'SearchPage');
export type SearchPage = z.infer<typeof SearchPage>;

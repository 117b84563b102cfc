import { z } from 'zod';
import { IsoDate, Limit, page } from './common.js';

export const Username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9_.]{3,32}$/, '3–32 characters of a-z, 0-9, _ and .');

export const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .regex(z.regexes.email, 'must be an email address');

export const Password = z
  .string()
  .min(8, 'at least 8 characters')
  .max(128, 'at most 128 characters');

export const DisplayName = z.string().trim().min(1).max(64);
export const Bio = z.string().trim().max(500);
export const AvatarUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .nullable();

export const UserView = z
  .object({
    id: z.string(),
    username: z.string(),
    email: z.string().optional().describe('Only shown to the user themself and to admins'),
    displayName: z.string(),
    bio: z.string(),
    avatarUrl: z.string().nullable(),
    role: z.enum(['user', 'admin']),
    isOnline: z.boolean().optional(),
    lastSeenAt: IsoDate.nullable(),
    createdAt: IsoDate,
  })
  .meta({ id: 'User' });

export type UserView = z.infer<typeof UserView>;

/** How a user appears in lists and among a conversation's participants. */
export const UserSummaryView = z
  .object({
    id: z.string(),
    username: z.string(),
    displayName: z.string(),
    avatarUrl: z.string().nullable(),
    isOnline: z.boolean(),
    lastSeenAt: IsoDate.nullable(),
  })
  .meta({ id: 'UserSummary' });
export type UserSummaryView = z.infer<typeof UserSummaryView>;

export const UserListQuery = z.object({
  search: z.string().trim().toLowerCase().max(32).optional(),
  cursor: z.string().max(64).optional(),
  limit: Limit,
});

export const UserListPage = page(UserSummaryView, 'UserListPage');

export const OnlineUsers = z.object({ count: z.number().int(), userIds: z.array(z.string()) });
export const OnlineCount = z.object({ count: z.number().int() });
export const UserOnline = z.object({ userId: z.string(), isOnline: z.boolean() });

import type { User } from './users.repository.js';

export interface Viewer {
  userId: string;
  role: 'user' | 'admin';
}

/** The public representation of a user (SPEC §4); email only for the user themself and admins. */
export function presentUser(user: User, viewer: Viewer | null, isOnline?: boolean) {
  const showEmail = viewer !== null && (viewer.userId === user.id || viewer.role === 'admin');
  return {
    id: user.id,
    username: user.username,
    ...(showEmail ? { email: user.email } : {}),
    displayName: user.displayName,
    bio: user.bio,
    avatarUrl: user.avatarUrl,
    role: user.role,
    ...(isOnline === undefined ? {} : { isOnline }),
    lastSeenAt: user.lastSeenAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}

export type UserRepresentation = ReturnType<typeof presentUser>;

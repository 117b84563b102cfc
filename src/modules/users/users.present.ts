import type { UserSummaryView, UserView } from '../../contracts/users.js';
import type { User, UserSummary } from './users.repository.js';

export interface Viewer {
  userId: string;
  role: 'user' | 'admin';
}

/** The public representation of a user (SPEC §4); email only for the user themself and admins. */
export function presentUser(user: User, viewer: Viewer | null, isOnline?: boolean): UserView {
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

/** A user in lists and among a conversation's participants: the one place summaries are built. */
export function presentSummary(user: UserSummary, isOnline: boolean): UserSummaryView {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    avatarUrl: user.avatarUrl,
    isOnline,
    lastSeenAt: user.lastSeenAt?.toISOString() ?? null,
  };
}

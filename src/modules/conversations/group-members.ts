/**
 * A group's members and their roles (SPEC §9), as pure functions over the member list, so the
 * rules read in one place and the repository only stores the result.
 */
export type MemberRole = 'owner' | 'admin' | 'member';

export interface Member {
  userId: string;
  role: MemberRole;
  joinedAt: Date;
}

export const GROUP_MAX = 100;

export function roleOf(members: readonly Member[], userId: string): MemberRole | null {
  return members.find((m) => m.userId === userId)?.role ?? null;
}

export function isManager(role: MemberRole | null): boolean {
  return role === 'owner' || role === 'admin';
}

/** The members after adding `userIds` (those already in are skipped), or null if none is new. */
export function withAdded(members: readonly Member[], userIds: readonly string[], at: Date) {
  const present = new Set(members.map((m) => m.userId));
  const added = [...new Set(userIds)].filter((id) => !present.has(id));
  if (added.length === 0) return null;
  const next = [
    ...members,
    ...added.map((userId) => ({ userId, role: 'member' as const, joinedAt: at })),
  ];
  return { members: next, added };
}

/**
 * The members after `userId` goes. An owner who leaves hands ownership to the longest-standing
 * admin, else the longest-standing member; `newOwner` names them.
 */
export function withRemoved(members: readonly Member[], userId: string) {
  const leaving = members.find((m) => m.userId === userId);
  const rest = members.filter((m) => m.userId !== userId);
  if (leaving?.role !== 'owner' || rest.length === 0) return { members: rest, newOwner: null };
  const heir = oldest(rest.filter((m) => m.role === 'admin')) ?? oldest(rest);
  if (!heir) return { members: rest, newOwner: null };
  return {
    members: rest.map((m) => (m === heir ? { ...m, role: 'owner' as const } : m)),
    newOwner: heir.userId,
  };
}

export function withRole(members: readonly Member[], userId: string, role: MemberRole): Member[] {
  return members.map((m) => (m.userId === userId ? { ...m, role } : m));
}

/** Earliest joinedAt; ties keep list order (the order members were added). */
function oldest(members: readonly Member[]): Member | undefined {
  let best: Member | undefined;
  for (const m of members) if (!best || m.joinedAt < best.joinedAt) best = m;
  return best;
}

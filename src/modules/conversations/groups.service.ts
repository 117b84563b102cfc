import type { ConversationView } from '../../contracts/conversations.js';
import type { Notifier } from '../../contracts/socket.js';
import { errors } from '../../errors.js';
import type { SystemEvent } from '../../contracts/messages.js';
import type { DomainEvent, EventData, EventType } from '../../contracts/events.js';
import { domainEvent } from '../events/outbox.js';
import type { UsersRepository } from '../users/users.repository.js';
import type { Conversation, ConversationsRepository } from './conversations.repository.js';
import type { ConversationsService } from './conversations.service.js';
import {
  GROUP_MAX,
  isManager,
  roleOf,
  withAdded,
  withRemoved,
  withRole,
  type Member,
} from './group-members.js';
import type { GroupMembersRepository } from './members.repository.js';
import type { MembershipCache } from './membership.cache.js';

/**
 * Posts a group change as a `type: system` message to the members. The messages module provides
 * it: messages depend on conversations, never the other way round.
 */
export interface SystemNotices {
  postSystem(
    actorId: string,
    conversationId: string,
    event: SystemEvent,
    content: string,
    participants: readonly string[],
  ): Promise<void>;
}

/** Attempts at a membership change while other changes keep winning the compare-and-set. */
const MAX_ATTEMPTS = 5;

interface MemberChange {
  members: Member[];
  joined: string[];
  left: string[];
  /** System notices it posts, in order. */
  notices: SystemEvent[];
}

/**
 * Groups that change (SPEC §9): members added and removed, leaving, renaming, roles. Every
 * change is stored first, then the membership caches of every instance are invalidated and a
 * removed member's sockets leave the room (so access ends at once), then a `type: system`
 * notice goes to the members and `conversation_updated` to everyone before and after.
 * A non-member gets 404 on every route; a direct conversation answers 400.
 */
export class GroupsService {
  constructor(
    private readonly conversations: ConversationsRepository,
    private readonly members: GroupMembersRepository,
    private readonly conversationsService: ConversationsService,
    private readonly notices: SystemNotices,
    private readonly users: UsersRepository,
    private readonly membership: MembershipCache,
    private readonly notifier: Notifier,
  ) {}

  /** Owner or admin; users already in are skipped. */
  async addMembers(actorId: string, conversationId: string, userIds: string[]) {
    const wanted = [...new Set(userIds)];
    await this.conversationsService.requireUsers(wanted);
    const after = await this.change(actorId, conversationId, (c) => {
      requireManager(c, actorId);
      const next = withAdded(c.members, wanted, new Date());
      if (!next) return null;
      if (next.members.length > GROUP_MAX) {
        throw errors.validation(
          { members: next.members.length },
          `A group has at most ${GROUP_MAX} members`,
        );
      }
      const notices: SystemEvent[] = [{ action: 'members_added', userIds: next.added }];
      return { members: next.members, joined: next.added, left: [], notices };
    });
    return this.viewFor(after, actorId);
  }

  /**
   * Removing yourself is leaving (an owner hands ownership on). Removing someone else takes the
   * owner, or an admin for plain members; nobody removes the owner.
   */
  async removeMember(actorId: string, conversationId: string, userId: string): Promise<void> {
    await this.change(actorId, conversationId, (c) => {
      const leaving = userId === actorId;
      if (!leaving) {
        requireManager(c, actorId);
        const target = roleOf(c.members, userId);
        if (!target) throw errors.notFound('Member');
        if (target === 'owner') throw errors.forbidden('The owner cannot be removed');
        if (target === 'admin' && roleOf(c.members, actorId) !== 'owner') {
          throw errors.forbidden('Only the owner removes admins');
        }
      }
      const { members, newOwner } = withRemoved(c.members, userId);
      const notices: SystemEvent[] = [
        { action: leaving ? 'member_left' : 'member_removed', userIds: [userId] },
      ];
      if (newOwner) notices.push({ action: 'role_changed', userIds: [newOwner], role: 'owner' });
      return { members, joined: [], left: [userId], notices };
    });
  }

  /** The owner makes a member an admin or an admin a member. */
  async setRole(actorId: string, conversationId: string, userId: string, role: 'admin' | 'member') {
    const after = await this.change(actorId, conversationId, (c) => {
      if (roleOf(c.members, actorId) !== 'owner')
        throw errors.forbidden('Only the owner changes roles');
      const current = roleOf(c.members, userId);
      if (!current) throw errors.notFound('Member');
      if (current === 'owner') {
        throw errors.validation(null, 'The owner keeps that role until they leave the group');
      }
      if (current === role) return null;
      const notices: SystemEvent[] = [{ action: 'role_changed', userIds: [userId], role }];
      return { members: withRole(c.members, userId, role), joined: [], left: [], notices };
    });
    return this.viewFor(after, actorId);
  }

  /** Owner or admin; the same name again changes nothing. */
  async rename(actorId: string, conversationId: string, name: string) {
    const group = await this.requireGroup(conversationId, actorId);
    requireManager(group, actorId);
    const event = domainEvent('conversation.updated', group.id, actorId, {
      conversationId: group.id,
      change: 'renamed',
      name,
    });
    const renamed = await this.members.rename(group.id, name, event);
    const after = renamed
      ? await this.announce(actorId, group, [{ action: 'renamed', name }])
      : group;
    return this.viewFor(after, actorId);
  }

  private async requireGroup(conversationId: string, actorId: string): Promise<Conversation> {
    const conversation = await this.conversations.findForMember(conversationId, actorId);
    if (!conversation) throw errors.notFound('Conversation');
    if (conversation.type !== 'group') {
      throw errors.validation(null, 'A direct conversation always has exactly its two members');
    }
    return conversation;
  }

  /** Reads, decides and stores with a compare-and-set; re-reads and decides again if beaten. */
  private async change(
    actorId: string,
    conversationId: string,
    decide: (group: Conversation) => MemberChange | null,
  ): Promise<Conversation> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const before = await this.requireGroup(conversationId, actorId);
      const change = decide(before);
      if (!change) return before;
      const events = memberEvents(actorId, before.id, change.notices);
      if (
        await this.members.replaceMembers(before.id, before.version, change.members, change, events)
      ) {
        if (change.joined.length > 0 || change.left.length > 0) {
          const after = change.members.map((m) => m.userId);
          const affected = union(before.participants, after);
          await this.membership.membershipChanged(before.id, affected);
          await this.conversationsService.listsChanged(affected);
          this.notifier.leaveConversation(change.left, before.id);
        }
        return this.announce(actorId, before, change.notices);
      }
    }
    throw errors.conflict('The group kept changing meanwhile; try again');
  }

  /**
   * System notices to the members as they are now, then `conversation_updated` to everyone who
   * was or is a member, each with their own unread count.
   */
  private async announce(
    actorId: string,
    before: Conversation,
    notices: SystemEvent[],
  ): Promise<Conversation> {
    let now = await this.reload(before.id);
    for (const notice of notices) {
      const content = await this.describe(actorId, notice);
      await this.notices.postSystem(actorId, now.id, notice, content, now.participants);
    }
    now = await this.reload(before.id);
    const audience = union(before.participants, now.participants);
    const views = await this.conversationsService.presentTo(now, audience);
    for (const { userId, conversation } of views) {
      this.notifier.toUsers([userId], 'conversation_updated', { conversation });
    }
    return now;
  }

  private async reload(conversationId: string): Promise<Conversation> {
    const conversation = await this.conversations.findById(conversationId);
    if (!conversation) throw new Error(`conversation ${conversationId} vanished`);
    return conversation;
  }

  private async viewFor(conversation: Conversation, viewerId: string): Promise<ConversationView> {
    const [view] = await this.conversationsService.presentTo(conversation, [viewerId]);
    if (!view) throw new Error('no view of the conversation');
    return view.conversation;
  }

  /** The notice's text, with display names as they are now. */
  private async describe(actorId: string, notice: SystemEvent): Promise<string> {
    const ids = [actorId, ...(notice.userIds ?? [])];
    const names = new Map(
      (await this.users.findSummaries(ids)).map((u) => [u.id, u.displayName || u.username]),
    );
    const actor = names.get(actorId) ?? 'someone';
    const them = (notice.userIds ?? []).map((id) => names.get(id) ?? 'someone').join(', ');
    switch (notice.action) {
      case 'members_added':
        return `${actor} added ${them}`;
      case 'member_removed':
        return `${actor} removed ${them}`;
      case 'member_left':
        return `${them} left`;
      case 'renamed':
        return `${actor} renamed the group to "${notice.name ?? ''}"`;
      case 'role_changed':
        return notice.role === 'owner'
          ? `${them} is now the owner`
          : `${actor} made ${them} ${notice.role === 'admin' ? 'an admin' : 'a member'}`;
    }
  }
}

function requireManager(group: Conversation, actorId: string): void {
  if (!isManager(roleOf(group.members, actorId))) {
    throw errors.forbidden("Only the group's owner or admins can do this");
  }
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** The domain events of one membership change, read off the notices it posts (SPEC §10). */
export function memberEvents(
  actorId: string,
  conversationId: string,
  notices: readonly SystemEvent[],
): DomainEvent[] {
  const events: DomainEvent[] = [];
  const event = <T extends EventType>(type: T, data: EventData<T>) =>
    events.push(domainEvent(type, conversationId, actorId, data));
  notices.forEach((notice, i) => {
    const userId = notice.userIds?.[0] ?? '';
    if (notice.action === 'members_added') {
      event('conversation.member_added', { conversationId, userIds: notice.userIds ?? [] });
    } else if (notice.action === 'member_left' || notice.action === 'member_removed') {
      // An owner who leaves hands ownership on in the same change: one event says both.
      const handover = notices[i + 1];
      const newOwnerId = handover?.action === 'role_changed' ? handover.userIds?.[0] : undefined;
      event('conversation.member_removed', {
        conversationId,
        userId,
        left: notice.action === 'member_left',
        ...(newOwnerId ? { newOwnerId } : {}),
      });
    } else if (notice.action === 'role_changed' && i === 0) {
      const role = notice.role === 'admin' ? 'admin' : notice.role === 'owner' ? 'owner' : 'member';
      event('conversation.updated', { conversationId, change: 'role_changed', userId, role });
    }
  });
  return events;
}

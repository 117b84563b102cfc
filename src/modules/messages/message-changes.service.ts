import type { MessageView } from '../../contracts/messages.js';
import type { Notifier } from '../../contracts/socket.js';
import { errors } from '../../errors.js';
import type { ConversationsRepository } from '../conversations/conversations.repository.js';
import type { ConversationsService } from '../conversations/conversations.service.js';
import { isManager, roleOf } from '../conversations/group-members.js';
import {
  MAX_DISTINCT_REACTIONS,
  type MessageChangesRepository,
} from './message-changes.repository.js';
import type { Message, MessagesRepository } from './messages.repository.js';
import { presentMessage, presentPerViewer } from './messages.present.js';
import { previewOf, type AttachmentLinks } from './messages.service.js';

export interface MessageRef {
  conversationId: string;
  messageId: string;
}

/**
 * Edits, deletes and reactions (SPEC §9). Members only (others get 404, as for reads); each
 * change is announced to every member once, and only when something changed, so retries and
 * repeated PUT/DELETE are silent no-ops.
 */
export class MessageChangesService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly changes: MessageChangesRepository,
    private readonly conversations: ConversationsRepository,
    private readonly conversationsService: ConversationsService,
    private readonly notifier: Notifier,
    private readonly attachments?: Pick<AttachmentLinks, 'unlink'>,
  ) {}

  /** Only the sender edits; a deleted message cannot be edited (409). */
  async edit(userId: string, ref: MessageRef, content: string): Promise<MessageView> {
    const { participants, message } = await this.find(userId, ref, 'edited');
    if (message.senderId !== userId) throw errors.forbidden('Only the sender can edit a message');
    if (message.deletedAt) throw errors.conflict('A deleted message cannot be edited');
    if (message.content === content) return presentMessage(message, userId);
    const edited = await this.changes.edit(ref.conversationId, ref.messageId, userId, content);
    if (!edited) throw errors.conflict('A deleted message cannot be edited');
    await this.conversations.refreshPreview(ref.conversationId, edited.id, previewOf(content));
    await this.conversationsService.messageChanged(ref.conversationId, participants, 'content');
    for (const view of presentPerViewer(edited, participants)) {
      this.notifier.toUsers(view.userIds, 'message_updated', { message: view.message });
    }
    return presentMessage(edited, userId);
  }

  /** The sender, or a group's owner/admin. Deleting a deleted message is a no-op. */
  async delete(userId: string, ref: MessageRef): Promise<void> {
    const { participants, message } = await this.find(userId, ref, 'deleted');
    if (message.senderId !== userId && !(await this.managesGroup(userId, ref.conversationId))) {
      throw errors.forbidden("Only the sender or a group's owner or admins can delete a message");
    }
    if (
      !(await this.changes.tombstone(ref.conversationId, ref.messageId, {
        actorId: userId,
        senderId: message.senderId,
      }))
    )
      return;
    if (message.attachments?.length) {
      await this.attachments?.unlink(
        message.attachments.map((a) => a.id),
        message.id,
      );
    }
    await this.conversations.refreshPreview(ref.conversationId, message.id, '');
    await this.conversationsService.messageChanged(ref.conversationId, participants, 'content');
    this.notifier.toUsers(participants, 'message_deleted', {
      conversationId: ref.conversationId,
      messageId: message.id,
    });
  }

  async react(userId: string, ref: MessageRef, emoji: string): Promise<void> {
    const { participants, message } = await this.find(userId, ref);
    const outcome = await this.changes.addReaction(ref.conversationId, message.id, emoji, userId);
    if (outcome === 'missing') throw errors.notFound('Message');
    if (outcome === 'deleted') throw errors.conflict('A deleted message cannot get reactions');
    if (outcome === 'too_many') {
      throw errors.conflict(`A message has at most ${MAX_DISTINCT_REACTIONS} different reactions`);
    }
    if (outcome === 'added') {
      await this.conversationsService.messageChanged(ref.conversationId, participants, 'reactions');
      this.announceReaction(participants, message, emoji, userId, true);
    }
  }

  async unreact(userId: string, ref: MessageRef, emoji: string): Promise<void> {
    const { participants, message } = await this.find(userId, ref);
    if (await this.changes.removeReaction(ref.conversationId, message.id, emoji, userId)) {
      await this.conversationsService.messageChanged(ref.conversationId, participants, 'reactions');
      this.announceReaction(participants, message, emoji, userId, false);
    }
  }

  private async find(userId: string, ref: MessageRef, change?: 'edited' | 'deleted') {
    const participants = await this.conversationsService.requireMember(ref.conversationId, userId);
    const message: Message | null = await this.messages.findInConversation(
      ref.conversationId,
      ref.messageId,
    );
    if (!message) throw errors.notFound('Message');
    // A system notice records a group change: it can get reactions, but is nobody's to rewrite.
    if (change && message.type === 'system') {
      throw errors.forbidden(`System messages cannot be ${change}`);
    }
    return { participants, message };
  }

  private async managesGroup(userId: string, conversationId: string): Promise<boolean> {
    const conversation = await this.conversations.findForMember(conversationId, userId);
    return conversation?.type === 'group' && isManager(roleOf(conversation.members, userId));
  }

  private announceReaction(
    participants: readonly string[],
    message: Message,
    emoji: string,
    userId: string,
    added: boolean,
  ): void {
    this.notifier.toUsers(participants, 'reaction_updated', {
      conversationId: message.conversationId,
      messageId: message.id,
      emoji,
      userId,
      added,
    });
  }
}

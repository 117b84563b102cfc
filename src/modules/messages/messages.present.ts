import type { MessageView } from '../../contracts/messages.js';
import type { Message } from './messages.repository.js';

/**
 * A message as `viewerId` sees it: reactions counted, with `me` when the viewer is among them.
 * A deleted message is a tombstone: no content, attachments or reactions, only its slot.
 */
export function presentMessage(m: Message, viewerId: string | null): MessageView {
  return {
    id: m.id,
    conversationId: m.conversationId,
    senderId: m.senderId,
    content: m.deletedAt ? '' : m.content,
    type: m.type,
    ...(m.clientMessageId ? { clientMessageId: m.clientMessageId } : {}),
    ...(m.system && !m.deletedAt ? { system: m.system } : {}),
    ...(m.attachments && !m.deletedAt ? { attachments: m.attachments } : {}),
    reactions: m.deletedAt
      ? []
      : m.reactions.map((r) => ({
          emoji: r.emoji,
          count: r.userIds.length,
          me: viewerId !== null && r.userIds.includes(viewerId),
        })),
    ...(m.editedAt ? { editedAt: m.editedAt.toISOString() } : {}),
    ...(m.deletedAt ? { deletedAt: m.deletedAt.toISOString() } : {}),
    createdAt: m.createdAt.toISOString(),
  };
}

/**
 * Splits `userIds` by how the message looks to them: `me` differs only for users who reacted,
 * so everyone else shares one presentation (one emit instead of one per member).
 */
export function presentPerViewer(
  m: Message,
  userIds: readonly string[],
): { userIds: string[]; message: MessageView }[] {
  const reactors = new Set(m.reactions.flatMap((r) => r.userIds));
  const others = userIds.filter((id) => !reactors.has(id));
  const views = userIds
    .filter((id) => reactors.has(id))
    .map((id) => ({ userIds: [id], message: presentMessage(m, id) }));
  return others.length > 0
    ? [{ userIds: others, message: presentMessage(m, null) }, ...views]
    : views;
}

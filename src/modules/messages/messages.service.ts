import type { MessageView, SystemEvent } from '../../contracts/messages.js';
import type { AttachmentView } from '../../contracts/media.js';
import type { Notifier } from '../../contracts/socket.js';
import { errors } from '../../errors.js';
import { parseObjectId } from '../../infra/ids.js';
import type { ConversationsRepository } from '../conversations/conversations.repository.js';
import { directKeyOf } from '../conversations/direct-key.js';
import type { ConversationsService } from '../conversations/conversations.service.js';
import { MicroBatcher } from '../../lib/micro-batcher.js';
import type {
  CatchUpStart,
  Message,
  MessagesRepository,
  NewMessage,
  Stored,
} from './messages.repository.js';
import { presentMessage } from './messages.present.js';

const PREVIEW_LENGTH = 120;

export interface SendInput {
  conversationId: string;
  content: string;
  clientMessageId?: string | undefined;
  attachmentIds?: string[] | undefined;
}

/** What messages need of attachments (implemented by the media module). */
export interface AttachmentLinks {
  /** The sender's own, none failed, as they look now; a validation error otherwise. */
  resolve(senderId: string, ids: readonly string[]): Promise<AttachmentView[]>;
  /** Members of the conversation may read them from now on (idempotent). */
  link(ids: readonly string[], messageId: string, conversationId: string): Promise<void>;
  /** The message was deleted: it no longer grants access to them. */
  unlink(ids: readonly string[], messageId: string): Promise<void>;
}

/** Most sends one group commit takes (a few hundred small documents: one engine command). */
const GROUP_COMMIT_MAX = 256;

/**
 * One send path for REST, Socket.IO and the auto-message worker: persist (idempotently), move
 * the conversation's last message, then fan out `message_received` to every member's personal
 * room — only when the message is new, so retries never notify twice.
 *
 * Group commit: sends that reach the store in the same turn of the event loop (many sockets'
 * events arrive in one I/O read) are inserted together and their conversations' last messages
 * moved together, one round trip each instead of one per send; each send still gets its own
 * outcome (its message, the original of a retry, or its own error).
 */
export class MessagesService {
  private readonly store: MicroBatcher<NewMessage, Stored>;
  private readonly lastMessages: MicroBatcher<LastMessageOf, null>;

  constructor(
    private readonly messages: MessagesRepository,
    private readonly conversations: ConversationsRepository,
    private readonly conversationsService: ConversationsService,
    private readonly notifier: Notifier,
    private readonly attachments?: AttachmentLinks,
  ) {
    const batch = { maxSize: GROUP_COMMIT_MAX, maxWaitMs: 0 };
    this.store = new MicroBatcher((items) => messages.insertManyOnce(items), batch);
    // Moved in MongoDB, then the history and list caches of each conversation invalidated.
    this.lastMessages = new MicroBatcher(async (items) => {
      await conversationsService.recordMessages(items);
      return items.map(() => null);
    }, batch);
  }

  async send(
    senderId: string,
    input: SendInput,
  ): Promise<{ message: MessageView; created: boolean }> {
    const participants = await this.conversationsService.requireMember(
      input.conversationId,
      senderId,
    );
    const attachments = input.attachmentIds?.length
      ? await this.requireAttachments().resolve(senderId, input.attachmentIds)
      : [];
    const { message, created } = await this.store.add({
      conversationId: input.conversationId,
      senderId,
      content: input.content,
      type: 'text',
      ...(input.clientMessageId ? { clientMessageId: input.clientMessageId } : {}),
      ...(attachments.length ? { attachments } : {}),
    });
    // Also on a retry: the first attempt may have died between the insert and the link.
    if (message.attachments?.length && message.conversationId === input.conversationId) {
      await this.requireAttachments().link(
        message.attachments.map((a) => a.id),
        message.id,
        message.conversationId,
      );
    }
    if (!created) return this.duplicateOf(message, input.conversationId, participants);
    await this.publish(message, participants);
    return { message: presentMessage(message, senderId), created: true };
  }

  /**
   * A `type: system` notice of a group change, by `actorId`, announced to `participants` (the
   * members after the change) like any message.
   */
  async postSystem(
    actorId: string,
    conversationId: string,
    event: SystemEvent,
    content: string,
    participants: readonly string[],
  ): Promise<void> {
    const { message } = await this.messages.insertOnce({
      conversationId,
      senderId: actorId,
      content,
      type: 'system',
      system: event,
    });
    await this.publish(message, participants);
  }

  /**
   * Stores and announces an auto message exactly once: a redelivered job finds the stored copy,
   * and finishes announcing it only if the first attempt died before doing so.
   */
  async sendAuto(input: AutoSend) {
    const [result] = await this.sendAutoMany([input]);
    if (!result) throw new Error('no result for the auto message');
    return result;
  }

  /**
   * `sendAuto` for a batch: a handful of bulk round trips for the whole batch, each message
   * stored and announced exactly once. Results are in input order.
   */
  async sendAutoMany(inputs: readonly AutoSend[]) {
    const conversations = await this.conversationsService.directMany(
      inputs.map((i) => [i.senderId, i.receiverId] as [string, string]),
    );
    const conversationOf = (i: AutoSend) => {
      const found = conversations.get(directKeyOf(i.senderId, i.receiverId));
      if (!found) throw new Error(`no direct conversation for ${i.senderId}/${i.receiverId}`);
      return found.conversation;
    };
    const stored = (
      await this.messages.insertManyOnce(
        inputs.map((i) => ({
          conversationId: conversationOf(i).id,
          senderId: i.senderId,
          content: i.content,
          type: 'auto' as const,
          autoMessageId: i.autoMessageId,
        })),
      )
    ).map((outcome) => {
      // Refused by another unique index, not as a redelivery: the insert's own error says why.
      if (outcome instanceof Error) throw outcome;
      return outcome;
    });
    await this.conversationsService.recordMessages(
      stored.map(({ message }, i) => ({
        conversationId: message.conversationId,
        participants: conversationOf(inputs[i] as AutoSend).participants,
        ...lastMessageOf(message),
      })),
    );
    await Promise.all(
      stored.map(({ message }, i) =>
        this.notifier.toUsersOnce(
          message.id,
          conversationOf(inputs[i] as AutoSend).participants,
          'message_received',
          { message: presentMessage(message, null) },
        ),
      ),
    );
    return stored.map(({ message, created }) => ({
      message: presentMessage(message, message.senderId),
      created,
    }));
  }

  private requireAttachments(): AttachmentLinks {
    if (!this.attachments) throw new Error('attachments are not wired into MessagesService');
    return this.attachments;
  }

  async history(
    userId: string,
    conversationId: string,
    page: { limit: number; before?: string; after?: string },
  ) {
    if (page.after) {
      await this.conversationsService.requireMember(conversationId, userId);
      const rows = await this.messages.pageAfter(
        conversationId,
        page.limit + 1,
        catchUpStart(page.after),
      );
      return toPage(rows, page.limit, userId, CONTINUE);
    }
    // The membership check and the newest page are both Redis reads: sent together. A malformed
    // id would fail the page read first (500): answered as the membership check would, 404.
    if (!parseObjectId(conversationId)) throw errors.notFound('Conversation');
    const [, rows] = await Promise.all([
      this.conversationsService.requireMember(conversationId, userId),
      page.before
        ? this.messages.pageBefore(conversationId, page.limit + 1, page.before)
        : this.newestMessages(conversationId, page.limit + 1),
    ]);
    return toPage(rows, page.limit, userId);
  }

  /** The newest page, from the cache every change to it invalidates (ConversationCaches). */
  private async newestMessages(conversationId: string, count: number): Promise<Message[]> {
    const rows = await this.conversationsService.newestMessages(
      conversationId,
      count,
      () => this.messages.pageBefore(conversationId, count),
      reviveMessages,
    );
    return rows ?? [];
  }

  /**
   * Everything newer than `since` across the user's conversations, oldest first. Starting from a
   * message id it also returns messages of the few seconds before it (clients dedupe by id), so
   * messages other instances stored out of id order are never missed; continuing from a
   * `nextCursor` it is exact.
   */
  async sync(userId: string, page: { since: string; limit: number }) {
    const ids = await this.conversations.idsForMember(userId);
    const rows = await this.messages.pageAfterAcross(ids, page.limit + 1, catchUpStart(page.since));
    return toPage(rows, page.limit, userId, CONTINUE);
  }

  async markRead(
    userId: string,
    input: { conversationId: string; messageId: string },
  ): Promise<void> {
    const participants = await this.conversationsService.requireMember(
      input.conversationId,
      userId,
    );
    const message = await this.messages.findInConversation(input.conversationId, input.messageId);
    if (!message) throw errors.notFound('Message');
    const readAt = new Date();
    const moved = await this.conversations.markRead(
      input.conversationId,
      userId,
      message.id,
      readAt,
    );
    if (!moved) return;
    await this.conversationsService.listsChanged([userId]);
    this.notifier.toUsers(participants, 'message_read', {
      conversationId: input.conversationId,
      userId,
      messageId: message.id,
      readAt: readAt.toISOString(),
    });
  }

  /**
   * Moves the conversation's last message (forward only) and announces the message once per id.
   * Both steps are idempotent, so a retry after a crash completes whatever the first attempt
   * did not, and repeats nothing it did.
   */
  private async publish(message: Message, participants: readonly string[]): Promise<void> {
    // Independent writes (MongoDB and Redis): done concurrently.
    await Promise.all([
      this.lastMessages.add({
        conversationId: message.conversationId,
        participants,
        ...lastMessageOf(message),
      }),
      this.notifier.toUsersOnce(message.id, participants, 'message_received', {
        message: presentMessage(message, null),
      }),
    ]);
  }

  private async duplicateOf(
    message: Message,
    conversationId: string,
    participants: readonly string[],
  ) {
    // The same clientMessageId reused for another conversation is a client bug, not a retry.
    if (message.conversationId !== conversationId) {
      throw errors.conflict('clientMessageId already used for another message', {
        clientMessageId: message.clientMessageId,
      });
    }
    await this.publish(message, participants);
    return { message: presentMessage(message, message.senderId), created: false };
  }
}

export interface AutoSend {
  senderId: string;
  receiverId: string;
  content: string;
  autoMessageId: string;
}

type LastMessageOf = ReturnType<typeof lastMessageOf> & {
  conversationId: string;
  participants: readonly string[];
};

function lastMessageOf(message: Message) {
  return {
    id: message.id,
    senderId: message.senderId,
    preview: previewOf(message.content),
    createdAt: message.createdAt,
  };
}

/** What the conversation list shows of a message. */
export function previewOf(content: string): string {
  return content.slice(0, PREVIEW_LENGTH);
}

/** How far a catch-up from a client's message id looks back (see MessagesRepository). */
export const SYNC_LOOKBACK_SECONDS = 5;
/** Marks a catch-up cursor the server issued: continue exactly after that id. */
const CONTINUE = 'c';

function catchUpStart(cursor: string): CatchUpStart {
  // A bare id may start with "c" too (it is hex): only the longer, prefixed form continues.
  return cursor.length === CONTINUE.length + 24 && cursor.startsWith(CONTINUE)
    ? { id: cursor.slice(CONTINUE.length), lookbackSeconds: 0 }
    : { id: cursor, lookbackSeconds: SYNC_LOOKBACK_SECONDS };
}

/** Messages as the cache stored them (JSON): dates back to Dates. */
function reviveMessages(json: unknown): Message[] {
  return (json as (Omit<Message, 'createdAt' | 'editedAt' | 'deletedAt'> & DatesAsText)[]).map(
    ({ createdAt, editedAt, deletedAt, ...m }) => ({
      ...m,
      createdAt: new Date(createdAt),
      ...(editedAt ? { editedAt: new Date(editedAt) } : {}),
      ...(deletedAt ? { deletedAt: new Date(deletedAt) } : {}),
    }),
  );
}

interface DatesAsText {
  createdAt: string;
  editedAt?: string;
  deletedAt?: string;
}

function toPage(rows: Message[], limit: number, viewerId: string, cursorPrefix = '') {
  const items = rows.slice(0, limit).map((m) => presentMessage(m, viewerId));
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? cursorPrefix + last.id : null };
}

import type { ConversationView, MessageView, ParleySocket } from '@parley/client';
import { useEffect, useState } from 'preact/hooks';
import { parley, type Me } from '../shared/session.js';

/** Typing expires after this long without a refresh (the contract's TYPING_EXPIRES_MS). */
const TYPING_EXPIRES_MS = 5000;
const PAGE = 30;

type TaskProgress = { state: string; progress: number };

/**
 * The chat's state, fed by the SDK: REST pages and socket events (the SDK re-joins, catches up
 * after a reconnect and delivers each message once). Components subscribe with `useStore`.
 */
export class ChatStore {
  conversations: ConversationView[] = [];
  selected: string | null = null;
  readonly messages = new Map<string, MessageView[]>();
  readonly hasOlder = new Map<string, boolean>();
  /** conversation → user → when their typing indicator expires */
  readonly typing = new Map<string, Map<string, number>>();
  /** conversation → user → the newest message id they read (live receipts) */
  readonly reads = new Map<string, Map<string, string>>();
  readonly online = new Set<string>();
  readonly tasks = new Map<string, TaskProgress>();
  connected = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly me: Me,
    readonly socket: ParleySocket,
  ) {
    socket.on('connected', () => this.update(() => (this.connected = true)));
    socket.on('disconnected', () => this.update(() => (this.connected = false)));
    socket.on('message_received', ({ message }) => this.onMessage(message));
    socket.on('message_updated', ({ message }) => this.replace(message));
    socket.on('message_deleted', ({ conversationId, messageId }) =>
      this.update(() => {
        const list = this.messages.get(conversationId);
        const found = list?.find((m) => m.id === messageId);
        if (found)
          this.replace({
            ...found,
            content: '',
            reactions: [],
            deletedAt: new Date().toISOString(),
          });
      }),
    );
    socket.on('reaction_updated', (event) => this.applyReaction(event));
    socket.on('typing', ({ conversationId, userId, isTyping }) =>
      this.update(() => {
        const users = this.typing.get(conversationId) ?? new Map<string, number>();
        if (isTyping) users.set(userId, Date.now() + TYPING_EXPIRES_MS);
        else users.delete(userId);
        this.typing.set(conversationId, users);
        if (isTyping) setTimeout(() => this.update(() => undefined), TYPING_EXPIRES_MS + 50);
      }),
    );
    socket.on('message_read', ({ conversationId, userId, messageId }) =>
      this.update(() => {
        const users = this.reads.get(conversationId) ?? new Map<string, string>();
        if ((users.get(userId) ?? '') < messageId) users.set(userId, messageId);
        this.reads.set(conversationId, users);
      }),
    );
    socket.on('user_online', ({ userId }) => this.update(() => this.online.add(userId)));
    socket.on('user_offline', ({ userId }) => this.update(() => this.online.delete(userId)));
    socket.on('conversation_updated', ({ conversation }) => this.upsertConversation(conversation));
    socket.on('task_updated', ({ task }) =>
      this.update(() => this.tasks.set(task.id, { state: task.state, progress: task.progress })),
    );
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private update(change: () => void): void {
    change();
    for (const listener of this.listeners) listener();
  }

  async loadConversations(): Promise<void> {
    const { items } = await parley.api.listConversations({ query: { limit: 100 } });
    this.update(() => {
      this.conversations = items;
      for (const c of items) for (const p of c.participants) if (p.isOnline) this.online.add(p.id);
    });
  }

  upsertConversation(conversation: ConversationView): void {
    this.update(() => {
      const rest = this.conversations.filter((c) => c.id !== conversation.id);
      this.conversations = [conversation, ...rest].sort((a, b) =>
        b.lastMessageAt.localeCompare(a.lastMessageAt),
      );
      for (const p of conversation.participants) if (p.isOnline) this.online.add(p.id);
    });
  }

  async select(id: string): Promise<void> {
    this.update(() => (this.selected = id));
    if (!this.messages.has(id)) await this.loadOlder(id);
    this.markRead(id);
  }

  /** The page before the oldest message held (the newest page first). */
  async loadOlder(id: string): Promise<void> {
    const held = this.messages.get(id) ?? [];
    const before = held[0]?.id;
    const page = await parley.api.history({
      params: { id },
      query: { limit: PAGE, ...(before ? { before } : {}) },
    });
    this.socket.markSeen(page.items);
    this.update(() => {
      const older = [...page.items].sort(byTime);
      this.messages.set(id, dedupe([...older, ...(this.messages.get(id) ?? [])]));
      this.hasOlder.set(id, page.nextCursor !== null);
    });
  }

  /** Tells the others this conversation was read up to its newest message from them. */
  markRead(id: string): void {
    const newest = [...(this.messages.get(id) ?? [])]
      .reverse()
      .find((m) => m.senderId !== this.me.id && !m.deletedAt);
    const conversation = this.conversations.find((c) => c.id === id);
    if (conversation && conversation.unreadCount > 0)
      this.upsertConversation({ ...conversation, unreadCount: 0 });
    if (newest) void this.socket.markRead(id, newest.id).catch(() => undefined);
  }

  private onMessage(message: MessageView): void {
    this.update(() => {
      const list = this.messages.get(message.conversationId);
      if (list) this.messages.set(message.conversationId, dedupe([...list, message]).sort(byTime));
      this.typing.get(message.conversationId)?.delete(message.senderId);
      const conversation = this.conversations.find((c) => c.id === message.conversationId);
      if (!conversation) {
        void parley.api
          .getConversation({ params: { id: message.conversationId } })
          .then(({ conversation: c }) => this.upsertConversation(c));
        return;
      }
      const mine = message.senderId === this.me.id;
      const open =
        this.selected === message.conversationId && document.visibilityState === 'visible';
      this.upsertConversation({
        ...conversation,
        lastMessageAt: message.createdAt,
        lastMessage: {
          id: message.id,
          senderId: message.senderId,
          preview: message.content.slice(0, 80),
          createdAt: message.createdAt,
        },
        unreadCount: mine || open ? conversation.unreadCount : conversation.unreadCount + 1,
      });
      if (open && !mine) this.markRead(message.conversationId);
    });
  }

  replace(message: MessageView): void {
    this.update(() => {
      const list = this.messages.get(message.conversationId);
      if (!list) return;
      this.messages.set(
        message.conversationId,
        list.map((m) => (m.id === message.id ? message : m)),
      );
    });
  }

  /** Applies one reaction change to the held copy: counts per emoji, `me` for our own. */
  private applyReaction(event: {
    conversationId: string;
    messageId: string;
    emoji: string;
    userId: string;
    added: boolean;
  }): void {
    const message = this.messages.get(event.conversationId)?.find((m) => m.id === event.messageId);
    if (!message) return;
    const mine = event.userId === this.me.id;
    const found = message.reactions.find((r) => r.emoji === event.emoji);
    const delta = event.added ? 1 : -1;
    const reactions = found
      ? message.reactions
          .map((r) =>
            r.emoji === event.emoji
              ? { ...r, count: r.count + delta, me: mine ? event.added : r.me }
              : r,
          )
          .filter((r) => r.count > 0)
      : event.added
        ? [...message.reactions, { emoji: event.emoji, count: 1, me: mine }]
        : message.reactions;
    this.replace({ ...message, reactions });
  }

  /** Resolves once the task succeeded (from task_updated, or its current state); rejects otherwise. */
  whenTaskDone(taskId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (): boolean => {
        const task = this.tasks.get(taskId);
        if (!task || task.state === 'queued' || task.state === 'running') return false;
        off();
        if (task.state === 'succeeded') resolve();
        else reject(new Error(`Processing ${task.state}`));
        return true;
      };
      const off = this.subscribe(() => void settle());
      void parley.api.task({ params: { id: taskId } }).then(
        ({ task }) => {
          if (!this.tasks.has(taskId)) this.tasks.set(taskId, task);
          settle();
        },
        (error: unknown) => {
          off();
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  typingUsers(id: string): string[] {
    const now = Date.now();
    return [...(this.typing.get(id) ?? new Map<string, number>())]
      .filter(([, until]) => until > now)
      .map(([userId]) => userId);
  }

  /** The others who read up to `messageId` or later (live receipts since this page loaded). */
  readBy(conversationId: string, messageId: string): string[] {
    return [...(this.reads.get(conversationId) ?? new Map<string, string>())]
      .filter(([userId, read]) => userId !== this.me.id && read >= messageId)
      .map(([userId]) => userId);
  }
}

function byTime(a: MessageView, b: MessageView): number {
  return a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);
}

function dedupe(list: MessageView[]): MessageView[] {
  const seen = new Map<string, MessageView>();
  for (const m of list) seen.set(m.id, m);
  return [...seen.values()];
}

/** Re-renders the component whenever the store changes. */
export function useStore(store: ChatStore): ChatStore {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion((v) => v + 1)), [store]);
  return store;
}

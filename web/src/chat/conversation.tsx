import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText, parley } from '../shared/session.js';
import { useConfirm } from '../shared/ui.js';
import { MessageItem } from './message.js';
import { titleOf } from './sidebar.js';
import type { ChatStore } from './store.js';

/** How often `typing: true` is repeated while someone keeps typing (it expires after 5 s). */
const TYPING_REPEAT_MS = 3000;

export function ConversationPane({ store, id }: { store: ChatStore; id: string }) {
  const conversation = store.conversations.find((c) => c.id === id);
  const messages = store.messages.get(id) ?? [];
  const [dialog, confirm] = useConfirm();
  const list = useRef<HTMLOListElement>(null);
  const top = useRef<HTMLLIElement>(null);
  const atBottom = useRef(true);

  // Infinite scroll: reaching the top loads the page before, keeping the view where it was.
  useEffect(() => {
    const sentinel = top.current;
    const scroller = list.current;
    if (!sentinel || !scroller) return;
    const observer = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting) || !store.hasOlder.get(id)) return;
      const fromBottom = scroller.scrollHeight - scroller.scrollTop;
      void store.loadOlder(id).then(() => {
        scroller.scrollTop = scroller.scrollHeight - fromBottom;
      });
    });
    observer.observe(sentinel);
    return () => observer.disconnect();
  }, [id, store]);

  // New messages keep the view at the bottom if it was there.
  useEffect(() => {
    const scroller = list.current;
    if (scroller && atBottom.current) scroller.scrollTop = scroller.scrollHeight;
  }, [messages.length]);

  const others = conversation?.participants.filter((p) => p.id !== store.me.id) ?? [];
  const typing = store
    .typingUsers(id)
    .map((userId) => others.find((p) => p.id === userId)?.username ?? 'someone');
  const lastMine = [...messages].reverse().find((m) => m.senderId === store.me.id && !m.deletedAt);
  const seenBy = lastMine ? store.readBy(id, lastMine.id) : [];
  return (
    <main class="conversation-pane" aria-labelledby="conversation-title">
      <header>
        <h1 id="conversation-title">{conversation ? titleOf(conversation, store.me.id) : '…'}</h1>
        <ul class="presence" aria-label="Who is online">
          {others.map((p) => (
            <li key={p.id} data-presence={p.username}>
              <span class={store.online.has(p.id) ? 'dot on' : 'dot'} aria-hidden="true" />
              {p.username} {store.online.has(p.id) ? 'online' : 'offline'}
            </li>
          ))}
        </ul>
      </header>
      <ol
        class="messages"
        ref={list}
        aria-label="Messages"
        aria-live="polite"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        <li ref={top} class="sentinel" aria-hidden="true">
          {store.hasOlder.get(id) ? 'Loading older messages…' : ''}
        </li>
        {messages.map((m) => (
          <MessageItem
            key={m.id}
            store={store}
            message={m}
            seen={m.id === lastMine?.id && seenBy.length > 0}
            confirm={confirm}
          />
        ))}
      </ol>
      <p class="typing" aria-live="polite" data-testid="typing">
        {typing.length > 0
          ? `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`
          : ''}
      </p>
      <Composer store={store} id={id} />
      {dialog}
    </main>
  );
}

function Composer({ store, id }: { store: ChatStore; id: string }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [upload, setUpload] = useState<{ name: string; taskId: string | null } | null>(null);
  const lastTyping = useRef(0);

  const typing = (isTyping: boolean) => {
    const now = Date.now();
    if (isTyping && now - lastTyping.current < TYPING_REPEAT_MS) return;
    lastTyping.current = isTyping ? now : 0;
    void store.socket.typing(id, isTyping).catch(() => undefined);
  };
  const send = async () => {
    const content = text.trim();
    if (!content) return;
    setText('');
    typing(false);
    try {
      await store.socket.send(id, content);
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const attach = async (file: File) => {
    setError(null);
    setUpload({ name: file.name, taskId: null });
    try {
      const form = new FormData();
      form.append('files', file, file.name);
      const { uploads } = await parley.api.upload({ body: form });
      const first = uploads[0];
      if (!first) throw new Error('The upload was not accepted');
      setUpload({ name: file.name, taskId: first.task.id });
      await store.whenTaskDone(first.task.id);
      await parley.api.sendMessage({
        params: { id },
        body: { content: '', attachmentIds: [first.attachment.id] },
      });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setUpload(null);
    }
  };
  const task = upload?.taskId ? store.tasks.get(upload.taskId) : undefined;
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <label class="visually-hidden" for="composer-text">
        Message
      </label>
      <textarea
        id="composer-text"
        rows={2}
        value={text}
        placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
        onInput={(e) => {
          setText(e.currentTarget.value);
          typing(e.currentTarget.value.length > 0);
        }}
        onBlur={() => typing(false)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            void send();
          }
        }}
      />
      <label class="file">
        Image
        <input
          type="file"
          accept="image/*"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            e.currentTarget.value = '';
            if (file) void attach(file);
          }}
        />
      </label>
      <button type="submit">Send</button>
      {upload && (
        <p class="upload" role="status" data-testid="upload">
          {upload.name}: {task ? `${task.state} ` : 'uploading '}
          <progress
            max={1}
            value={task?.progress ?? undefined}
            aria-label={`Processing ${upload.name}`}
          />
        </p>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </form>
  );
}

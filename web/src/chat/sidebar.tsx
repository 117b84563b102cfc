import type { ConversationView } from '@parley/client';
import { useState } from 'preact/hooks';
import { errorText, parley } from '../shared/session.js';
import { formText } from '../shared/ui.js';
import type { ChatStore } from './store.js';

export function titleOf(conversation: ConversationView, myId: string): string {
  if (conversation.name) return conversation.name;
  const others = conversation.participants.filter((p) => p.id !== myId);
  return others.map((p) => p.displayName || p.username).join(', ') || 'Just you';
}

/** Conversations with unread counts, a way to start one, and message search. */
export function Sidebar({ store, onLogout }: { store: ChatStore; onLogout: () => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  const start = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = formText(form, 'username').trim().toLowerCase();
    setError(null);
    try {
      const { items } = await parley.api.listUsers({ query: { search: name, limit: 10 } });
      const user = items.find((u) => u.username.toLowerCase() === name) ?? items[0];
      if (!user || user.id === store.me.id) throw new Error(`No user called ${name}`);
      const { conversation } = await parley.api.createConversation({
        body: { participantId: user.id },
      });
      store.upsertConversation(conversation);
      await store.select(conversation.id);
      form.reset();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <nav class="sidebar" aria-label="Conversations">
      <header>
        <strong>{store.me.username}</strong>
        <span class={store.connected ? 'online' : 'offline'} data-testid="connection">
          {store.connected ? 'connected' : 'reconnecting…'}
        </span>
        <button type="button" class="link" onClick={() => void onLogout()}>
          Log out
        </button>
      </header>
      <form onSubmit={(e) => void start(e)} class="start">
        <label>
          Chat with (username)
          <input name="username" required autocomplete="off" />
        </label>
        <button type="submit">Start</button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
      <Search store={store} />
      <ul class="conversations">
        {store.conversations.map((c) => (
          <li key={c.id}>
            <button
              type="button"
              class={c.id === store.selected ? 'conversation selected' : 'conversation'}
              aria-current={c.id === store.selected ? 'true' : undefined}
              data-conversation={c.id}
              onClick={() => void store.select(c.id)}
            >
              <span class="title">{titleOf(c, store.me.id)}</span>
              {c.unreadCount > 0 && (
                <span class="badge" aria-label={`${c.unreadCount} unread`} data-testid="unread">
                  {c.unreadCount}
                </span>
              )}
              <span class="preview">{c.lastMessage?.preview ?? ''}</span>
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function Search({ store }: { store: ChatStore }) {
  const [results, setResults] = useState<{ id: string; conversationId: string; text: string }[]>(
    [],
  );
  const [error, setError] = useState<string | null>(null);
  const search = async (event: SubmitEvent) => {
    event.preventDefault();
    const q = formText(event.currentTarget as HTMLFormElement, 'q').trim();
    setError(null);
    if (!q) return setResults([]);
    try {
      const page = await parley.api.searchMessages({ query: { q, limit: 20 } });
      setResults(
        page.items.map((i) => ({
          id: i.message.id,
          conversationId: i.conversation.id,
          text: i.message.content,
        })),
      );
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form role="search" onSubmit={(e) => void search(e)} class="search">
      <label>
        Search messages
        <input name="q" type="search" />
      </label>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {results.length > 0 && (
        <ul class="results" aria-label="Search results">
          {results.map((r) => (
            <li key={r.id}>
              <button
                type="button"
                class="link"
                onClick={() => void store.select(r.conversationId)}
              >
                {r.text}
              </button>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}

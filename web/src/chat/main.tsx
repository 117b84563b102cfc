import { useEffect, useMemo } from 'preact/hooks';
import { parley, type Me } from '../shared/session.js';
import { mount, SignedIn } from '../shared/signed-in.js';
import { ChatStore, useStore } from './store.js';
import { Sidebar } from './sidebar.js';
import { ConversationPane } from './conversation.js';

/** The web client (SPEC §13): register or log in, then chat. Tokens live in memory only. */
mount(
  <SignedIn
    title="Parley"
    login={async (login, password) => (await parley.login({ login, password })).user}
    register={async (username, email, password) =>
      (await parley.register({ username, email, password })).user
    }
  >
    {(me, logout) => <Chat me={me} onLogout={logout} />}
  </SignedIn>,
);

function Chat(props: { me: Me; onLogout: () => Promise<void> }) {
  const store = useMemo(() => new ChatStore(props.me, parley.connect()), [props.me]);
  useStore(store);
  useEffect(() => {
    void store.loadConversations();
    return () => store.socket.close();
  }, [store]);
  return (
    <div class="chat">
      <Sidebar store={store} onLogout={props.onLogout} />
      {store.selected ? (
        <ConversationPane key={store.selected} store={store} id={store.selected} />
      ) : (
        <main class="empty">
          <p class="muted">Pick a conversation, or start one with a username.</p>
        </main>
      )}
    </div>
  );
}

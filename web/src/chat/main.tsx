import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { parley, type Me } from '../shared/session.js';
import { LoginForm } from '../shared/ui.js';
import { ChatStore, useStore } from './store.js';
import { Sidebar } from './sidebar.js';
import { ConversationPane } from './conversation.js';

/** The web client (SPEC §13): register or log in, then chat. Tokens live in memory only. */
function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(
    () =>
      parley.on('sessionExpired', () => {
        setMe(null);
        setNotice('Your session ended: log in again.');
      }),
    [],
  );
  if (me === null)
    return (
      <>
        {notice && <p role="status">{notice}</p>}
        <LoginForm
          title="Parley"
          onLogin={async (login, password) => setMe((await parley.login({ login, password })).user)}
          onRegister={async (username, email, password) =>
            setMe((await parley.register({ username, email, password })).user)
          }
        />
      </>
    );
  return (
    <Chat
      me={me}
      onLogout={async () => {
        await parley.logout();
        setMe(null);
      }}
    />
  );
}

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

const root = document.getElementById('app');
if (root) render(<App />, root);

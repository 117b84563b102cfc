import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { parley, type Me } from '../shared/session.js';
import { LoginForm } from '../shared/ui.js';
import { Dashboard } from './dashboard.js';

/** The operations dashboard (SPEC §13): admin login with the normal auth routes, then panels. */
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
  if (me === null) {
    return (
      <>
        {notice && <p role="status">{notice}</p>}
        <LoginForm
          title="Parley operations"
          onLogin={async (login, password) => {
            const { user } = await parley.login({ login, password });
            if (user.role !== 'admin') {
              await parley.logout();
              throw new Error('Administrators only: this account is not an admin.');
            }
            setMe(user);
          }}
        />
      </>
    );
  }
  return (
    <Dashboard
      me={me}
      onLogout={async () => {
        await parley.logout();
        setMe(null);
      }}
    />
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);

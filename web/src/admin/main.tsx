import { parley } from '../shared/session.js';
import { mount, SignedIn } from '../shared/signed-in.js';
import { Dashboard } from './dashboard.js';

/** The operations dashboard (SPEC §13): admin login with the normal auth routes, then panels. */
mount(
  <SignedIn
    title="Parley operations"
    login={async (login, password) => {
      const { user } = await parley.login({ login, password });
      if (user.role !== 'admin') {
        await parley.logout();
        throw new Error('Administrators only: this account is not an admin.');
      }
      return user;
    }}
  >
    {(me, logout) => <Dashboard me={me} onLogout={logout} />}
  </SignedIn>,
);

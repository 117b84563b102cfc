import { render, type ComponentChildren, type VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { parley, type Me } from './session.js';
import { LoginForm } from './ui.js';

/**
 * A page's login bootstrap: the login form (and registration, when `register` is given) until
 * someone is signed in, then `children(me, logout)`. A session the SDK could not refresh
 * returns to the form with a notice. Tokens stay in the SDK's memory.
 */
export function SignedIn(props: {
  title: string;
  login: (login: string, password: string) => Promise<Me>;
  register?: (username: string, email: string, password: string) => Promise<Me>;
  children: (me: Me, logout: () => Promise<void>) => ComponentChildren;
}) {
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
  const { register } = props;
  if (me === null)
    return (
      <>
        {notice && <p role="status">{notice}</p>}
        <LoginForm
          title={props.title}
          onLogin={async (login, password) => setMe(await props.login(login, password))}
          {...(register && {
            onRegister: async (username: string, email: string, password: string) =>
              setMe(await register(username, email, password)),
          })}
        />
      </>
    );
  return props.children(me, async () => {
    await parley.logout();
    setMe(null);
  });
}

/** Renders a page's root component into `#app`. */
export function mount(page: VNode): void {
  const root = document.getElementById('app');
  if (root) render(page, root);
}

import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { errorText } from './session.js';

/** Login (and, where allowed, registration) through the SDK; the form is labelled and keyboard-first. */
export function LoginForm(props: {
  title: string;
  onLogin: (login: string, password: string) => Promise<void>;
  onRegister?: (username: string, email: string, password: string) => Promise<void>;
}) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const field = (name: string) => formText(form, name);
    setBusy(true);
    setError(null);
    try {
      if (mode === 'login') await props.onLogin(field('login'), field('password'));
      else await props.onRegister?.(field('username'), field('email'), field('password'));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>{props.title}</h1>
      <form onSubmit={(e) => void submit(e)} aria-describedby="login-error">
        {mode === 'login' ? (
          <label>
            Username or email
            <input name="login" autocomplete="username" required />
          </label>
        ) : (
          <>
            <label>
              Username
              <input name="username" autocomplete="username" required minLength={3} />
            </label>
            <label>
              Email
              <input name="email" type="email" autocomplete="email" required />
            </label>
          </>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
          />
        </label>
        <button type="submit" disabled={busy}>
          {mode === 'login' ? 'Log in' : 'Create account'}
        </button>
        {props.onRegister && (
          <button
            type="button"
            class="link"
            onClick={() => setMode(mode === 'login' ? 'register' : 'login')}
          >
            {mode === 'login' ? 'New here? Create an account' : 'I have an account'}
          </button>
        )}
        <p id="login-error" role="alert" class="error">
          {error}
        </p>
      </form>
    </main>
  );
}

/**
 * A confirmation in a modal <dialog> (focus is trapped and Escape cancels, natively). Returns the
 * element to render and `confirm(text)`, which resolves true only when the person confirmed.
 */
export function useConfirm(): [ComponentChildren, (text: string) => Promise<boolean>] {
  const dialog = useRef<HTMLDialogElement>(null);
  const [text, setText] = useState('');
  const answer = useRef<(ok: boolean) => void>(() => undefined);
  const confirm = (question: string) =>
    new Promise<boolean>((resolve) => {
      setText(question);
      answer.current = resolve;
      dialog.current?.showModal();
    });
  const close = (ok: boolean) => {
    dialog.current?.close();
    answer.current(ok);
    answer.current = () => undefined;
  };
  const element = (
    <dialog ref={dialog} aria-labelledby="confirm-text" onCancel={() => close(false)}>
      <p id="confirm-text">{text}</p>
      <div class="actions">
        <button type="button" onClick={() => close(false)}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={() => close(true)}>
          Confirm
        </button>
      </div>
    </dialog>
  );
  return [element, confirm];
}

/** A text field of a submitted form ('' when absent or a file). */
export function formText(form: HTMLFormElement, name: string): string {
  const value = new FormData(form).get(name);
  return typeof value === 'string' ? value : '';
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}

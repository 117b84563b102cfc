import type { MessageView } from '@parley/client';
import { useEffect, useState } from 'preact/hooks';
import { errorText, parley } from '../shared/session.js';
import { formText } from '../shared/ui.js';
import type { ChatStore } from './store.js';

const QUICK_REACTIONS = ['👍', '❤️', '😂'];

type Attachment = NonNullable<MessageView['attachments']>[number];

export function MessageItem(props: {
  store: ChatStore;
  message: MessageView;
  seen: boolean;
  confirm: (text: string) => Promise<boolean>;
}) {
  const { store, message: m, confirm } = props;
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mine = m.senderId === store.me.id;
  const sender =
    store.conversations
      .find((c) => c.id === m.conversationId)
      ?.participants.find((p) => p.id === m.senderId)?.username ?? '';
  const ids = { id: m.conversationId, messageId: m.id };
  const run = async (action: () => Promise<unknown>) => {
    try {
      await action();
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const react = (emoji: string) => {
    const has = m.reactions.some((r) => r.emoji === emoji && r.me);
    return run(() =>
      has
        ? parley.api.removeReaction({ params: { ...ids, emoji } })
        : parley.api.addReaction({ params: { ...ids, emoji } }),
    );
  };
  if (m.type === 'system')
    return (
      <li class="message system" data-message={m.id}>
        {m.content || 'The conversation changed'}
      </li>
    );
  return (
    <li class={mine ? 'message mine' : 'message'} data-message={m.id}>
      <div class="meta">
        <strong>{mine ? 'You' : sender}</strong>{' '}
        <time dateTime={m.createdAt}>{new Date(m.createdAt).toLocaleTimeString()}</time>
        {m.editedAt && !m.deletedAt && <span class="muted"> (edited)</span>}
      </div>
      {m.deletedAt ? (
        <p class="muted deleted">Message deleted</p>
      ) : editing ? (
        <form
          class="edit"
          onSubmit={(e) => {
            e.preventDefault();
            const content = formText(e.currentTarget, 'content').trim();
            void run(async () => {
              const { message } = await parley.api.editMessage({ params: ids, body: { content } });
              store.replace(message);
              setEditing(false);
            });
          }}
        >
          <label>
            Edit message
            <input name="content" value={m.content} required />
          </label>
          <button type="submit">Save</button>
          <button type="button" class="link" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <>
          {m.content && <p class="content">{m.content}</p>}
          {m.attachments?.map((a) => (
            <Thumbnail key={a.id} attachment={a} />
          ))}
        </>
      )}
      {!m.deletedAt && (
        <div class="reactions" role="group" aria-label="Reactions">
          {m.reactions.map((r) => (
            <button
              key={r.emoji}
              type="button"
              class={r.me ? 'reaction me' : 'reaction'}
              aria-pressed={r.me}
              aria-label={`${r.emoji} ${r.count}`}
              onClick={() => void react(r.emoji)}
            >
              {r.emoji} {r.count}
            </button>
          ))}
          {QUICK_REACTIONS.filter((e) => !m.reactions.some((r) => r.emoji === e)).map((emoji) => (
            <button
              key={emoji}
              type="button"
              class="reaction add"
              aria-label={`React with ${emoji}`}
              onClick={() => void react(emoji)}
            >
              {emoji}
            </button>
          ))}
          {mine && m.type === 'text' && (
            <>
              <button type="button" class="link" onClick={() => setEditing(true)}>
                Edit
              </button>
              <button
                type="button"
                class="link"
                onClick={() =>
                  void confirm('Delete this message for everyone?').then(async (ok) => {
                    if (ok) await run(() => parley.api.deleteMessage({ params: ids }));
                  })
                }
              >
                Delete
              </button>
            </>
          )}
        </div>
      )}
      {props.seen && (
        <p class="receipt" data-testid="seen">
          Seen
        </p>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </li>
  );
}

/** Attachments need the bearer token, so the thumbnail comes through the SDK as a Blob URL. */
function Thumbnail({ attachment }: { attachment: Attachment }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    if (attachment.kind !== 'image') return;
    let url: string | null = null;
    let stopped = false;
    parley.api
      .attachmentContent({ params: { id: attachment.id }, query: { variant: '300' } })
      .then((blob) => {
        if (stopped) return;
        url = URL.createObjectURL(blob);
        setSrc(url);
      })
      .catch(() => setSrc(null));
    return () => {
      stopped = true;
      if (url) URL.revokeObjectURL(url);
    };
  }, [attachment.id, attachment.kind]);
  if (attachment.kind !== 'image') return <p class="file-name">{attachment.name}</p>;
  return src ? (
    <img class="thumbnail" src={src} alt={attachment.name} data-testid="thumbnail" />
  ) : (
    <p class="muted">Loading {attachment.name}…</p>
  );
}

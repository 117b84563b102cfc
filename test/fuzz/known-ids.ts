/**
 * The ids the server has handed out, sorted by what they name, so that drawn inputs reach real
 * conversations, messages and users (an edit of the message just sent) instead of stopping at 404.
 * Filled from the setup and from every successful response.
 */
export type IdKind =
  'conversation' | 'message' | 'user' | 'task' | 'attachment' | 'webhook' | 'automessage';

const KINDS: [RegExp, IdKind][] = [
  [/conversation/i, 'conversation'],
  [/auto/i, 'automessage'],
  [/message/i, 'message'],
  [/user|sender|participant|receiver|owner|member/i, 'user'],
  [/task/i, 'task'],
  [/attachment|upload/i, 'attachment'],
  [/webhook/i, 'webhook'],
];

/** What a field, path segment or route names, by its wording (`conversationId`, `messages`). */
export function kindOf(name: string): IdKind | null {
  return KINDS.find(([pattern]) => pattern.test(name))?.[1] ?? null;
}

const HEX_ID = /^[0-9a-f]{24}$/;
const CAP = 200;

export class KnownIds {
  private readonly byKind = new Map<IdKind, string[]>();
  private readonly everything: string[] = [];
  /** Messages with their conversation, for routes that take both. */
  readonly messages: { conversationId: string; id: string }[] = [];

  add(kind: IdKind | null, id: string): void {
    if (!HEX_ID.test(id) || this.everything.includes(id)) return;
    if (this.everything.length < CAP * 4) this.everything.push(id);
    if (!kind) return;
    const ids = this.byKind.get(kind) ?? [];
    if (ids.length < CAP) ids.push(id);
    this.byKind.set(kind, ids);
  }

  /** The ids a field or parameter of this name may take: its kind's, else any. */
  idsFor(name: string | undefined): readonly string[] {
    const kind = name ? kindOf(name) : null;
    const ids = kind ? this.byKind.get(kind) : undefined;
    return ids?.length ? ids : this.everything;
  }

  /** Reads every id out of a response body; `kind` is what the route returns. */
  harvest(body: unknown, kind: IdKind | null): void {
    if (Array.isArray(body)) return body.forEach((item) => this.harvest(item, kind));
    if (typeof body === 'string') return this.add(kind, body);
    if (typeof body !== 'object' || body === null) return;
    const record = body as Record<string, unknown>;
    if (typeof record.id === 'string') {
      this.add(kind, record.id);
      if (kind === 'message' && typeof record.conversationId === 'string') {
        if (this.messages.length < CAP)
          this.messages.push({ conversationId: record.conversationId, id: record.id });
      }
    }
    for (const [key, value] of Object.entries(record)) {
      if (key === 'id') continue;
      if (typeof value === 'string' && /Id$/.test(key)) this.add(kindOf(key), value);
      else this.harvest(value, key === 'items' ? kind : (kindOf(key) ?? kind));
    }
  }
}

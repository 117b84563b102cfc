import { randomBytes } from 'node:crypto';
import type { DomainEvent } from '../../contracts/events.js';
import type { DeliveryView, WebhookView } from '../../contracts/webhooks.js';
import { errors } from '../../errors.js';
import { matchesTopic } from '../../lib/topic-pattern.js';
import type { EventConsumer, EventDelivery } from '../events/consumers.js';
import type { MessagesRepository } from '../messages/messages.repository.js';
import { DeliveryError, sendWebhook } from './webhook-sender.js';
import { assertPublicTarget } from './webhook-target.js';
import type { Webhook, WebhooksRepository } from './webhooks.repository.js';

type Send = typeof sendWebhook;

/** Keeps the `webhooks` queue bound to exactly the patterns registered webhooks ask for. */
export interface WebhookRouting {
  /** After a registration (`stale` empty) or a removal (`stale`: the removed patterns). */
  refresh(stale: readonly string[]): Promise<void>;
}

/**
 * Outgoing webhooks (SPEC §10): admins register URLs with event patterns; the `webhooks`
 * consumer POSTs each matching event, signed, and records every attempt. A failed attempt is
 * retried by the consumer queue's backoff; after the last one the event is parked.
 */
export class WebhooksService {
  constructor(
    private readonly hooks: WebhooksRepository,
    private readonly messages: Pick<MessagesRepository, 'findInConversation'>,
    private readonly allowPrivate: boolean,
    private readonly routing: WebhookRouting,
    private readonly send: Send = sendWebhook,
  ) {}

  async create(
    adminId: string,
    body: { url: string; events: string[]; secret?: string | undefined },
  ): Promise<WebhookView> {
    if (!this.allowPrivate) {
      await assertPublicTarget(body.url).catch((err: unknown) => {
        throw errors.validation(
          [{ in: 'body', path: 'url', message: err instanceof Error ? err.message : String(err) }],
          'Webhook targets on loopback or private networks are refused',
        );
      });
    }
    const secret = body.secret ?? randomBytes(32).toString('hex');
    const hook = await this.hooks.create({
      url: body.url,
      events: [...new Set(body.events)],
      secret,
      createdBy: adminId,
    });
    // Bound after the write: an event committed once this returns reaches the queue.
    await this.routing.refresh([]).catch(async (err: unknown) => {
      await this.hooks.remove(hook.id);
      throw err;
    });
    return { ...view(hook), secret };
  }

  async list(): Promise<WebhookView[]> {
    return (await this.hooks.list()).map(view);
  }

  async remove(id: string): Promise<void> {
    const hook = await this.hooks.findById(id);
    if (!hook || !(await this.hooks.remove(id))) throw errors.notFound('Webhook');
    await this.routing.refresh(hook.events);
  }

  async deliveries(id: string, limit: number): Promise<DeliveryView[]> {
    if (!(await this.hooks.findById(id))) throw errors.notFound('Webhook');
    return (await this.hooks.recent(id, limit)).map((d) => ({
      eventId: d.eventId,
      type: d.type,
      status: d.status,
      attempts: d.attempts,
      lastError: d.lastError,
      deliveredAt: d.deliveredAt?.toISOString() ?? null,
      updatedAt: d.updatedAt.toISOString(),
    }));
  }

  /** Bound only to the registered patterns: with none, no event reaches its queue at all. */
  consumer(): EventConsumer {
    return {
      name: 'webhooks',
      keys: [],
      dataKeys: async () => [...new Set((await this.hooks.list()).flatMap((h) => h.events))],
      prefetch: 20,
      handle: (event, delivery, signal) => this.deliver(event, delivery, signal),
    };
  }

  /** Every matching webhook not yet served; throws (retry) while any of them fails. */
  async deliver(event: DomainEvent, delivery: EventDelivery, signal: AbortSignal): Promise<void> {
    const targets = (await this.hooks.list()).filter((h) =>
      h.events.some((p) => matchesTopic(p, event.type)),
    );
    if (targets.length === 0) return;
    const body = await this.redacted(event);
    const failures: string[] = [];
    for (const hook of targets) {
      if (await this.hooks.delivered(hook.id, event.id)) continue;
      try {
        await this.send(hook, body, { allowPrivate: this.allowPrivate, signal });
        await this.hooks.record(hook.id, event, { status: 'delivered', error: null });
      } catch (err) {
        const permanent = err instanceof DeliveryError && err.permanent;
        const status = permanent ? 'refused' : delivery.finalAttempt ? 'parked' : 'failing';
        const message = err instanceof Error ? err.message : String(err);
        await this.hooks.record(hook.id, event, { status, error: message });
        if (!permanent) failures.push(`${hook.url}: ${message}`);
      }
    }
    if (failures.length > 0) throw new DeliveryError(failures.join('; '));
  }

  /** A message deleted since the event no longer sends its content (SPEC §9). */
  private async redacted(event: DomainEvent): Promise<DomainEvent> {
    if (event.type !== 'message.created' && event.type !== 'message.edited') return event;
    const message = await this.messages.findInConversation(
      event.data.conversationId,
      event.data.messageId,
    );
    if (message?.deletedAt === undefined) return event;
    return { ...event, data: { ...event.data, content: '' } } as DomainEvent;
  }
}

function view(hook: Webhook): WebhookView {
  return {
    id: hook.id,
    url: hook.url,
    events: hook.events,
    createdAt: hook.createdAt.toISOString(),
  };
}

import type { routes, RouteResult } from '@parley/client';
import { parley, usePoll } from '../shared/session.js';
import { when } from '../shared/ui.js';
import { LIVE_MS } from './dashboard.js';
import { ListTable } from './table.js';

type Webhook = RouteResult<(typeof routes)['webhooks']>['items'][number];
type Delivery = RouteResult<(typeof routes)['webhookDeliveries']>['items'][number];

/** Deliveries listed per webhook: enough to see a failing receiver before its attempts run out. */
const DELIVERIES_SHOWN = 10;

/** Outgoing webhooks (SPEC §10) and each one's latest delivery attempts. */
export function WebhooksPanel() {
  const hooks = usePoll(async () => {
    const { items } = await parley.api.webhooks({});
    return Promise.all(
      items.map(async (hook) => ({
        hook,
        deliveries: (
          await parley.api.webhookDeliveries({
            params: { id: hook.id },
            query: { limit: DELIVERIES_SHOWN },
          })
        ).items,
      })),
    );
  }, LIVE_MS);
  return (
    <section aria-labelledby="webhooks-title">
      <h2 id="webhooks-title">Webhook deliveries</h2>
      {hooks.error && <p class="error">{hooks.error}</p>}
      {hooks.value?.length === 0 && (
        <p class="muted">No outgoing webhook is registered (POST /api/admin/webhooks).</p>
      )}
      {hooks.value?.map(({ hook, deliveries }) => (
        <Deliveries key={hook.id} hook={hook} deliveries={deliveries} />
      ))}
    </section>
  );
}

function Deliveries({ hook, deliveries }: { hook: Webhook; deliveries: Delivery[] }) {
  return (
    <div data-testid={`webhook-${hook.id}`}>
      <h3>
        <code>{hook.url}</code> <span class="muted">{hook.events.join(', ')}</span>
      </h3>
      <ListTable
        rows={deliveries}
        rowKey={(d) => d.eventId}
        rowAttr="delivery"
        empty="No matching event yet."
        columns={[
          { label: 'Event', cell: (d) => <code>{d.eventId}</code> },
          { label: 'Type', cell: (d) => d.type },
          {
            label: 'Status',
            cell: (d) => d.status,
            tone: (d) => (d.status === 'delivered' ? '' : 'warn'),
          },
          { label: 'Attempts', cell: (d) => d.attempts },
          { label: 'Last error', cell: (d) => d.lastError ?? '—' },
          { label: 'Delivered', cell: (d) => when(d.deliveredAt) },
          { label: 'Updated', cell: (d) => when(d.updatedAt) },
        ]}
      />
    </div>
  );
}

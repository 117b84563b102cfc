import { useState } from 'preact/hooks';
import { parley, usePoll, type Me } from '../shared/session.js';
import { useConfirm } from '../shared/ui.js';
import { ParkedPanel, QueuesPanel } from './queues.js';
import { JobsPanel, TasksPanel } from './work.js';
import { StatsPanel } from './stats.js';
import { WebhooksPanel } from './webhooks.js';

/** Everything on the page refreshes this often: SPEC §13 wants it at most 5 s behind. */
export const LIVE_MS = 3000;

/** What an action tells the operator; shown in a live region so screen readers hear it too. */
export type Report = (text: string) => void;

export interface PanelProps {
  confirm: (text: string) => Promise<boolean>;
  report: Report;
}

export function Dashboard(props: { me: Me; onLogout: () => Promise<void> }) {
  const [dialog, confirm] = useConfirm();
  const [status, setStatus] = useState('');
  const online = usePoll(() => parley.api.onlineCount({}), LIVE_MS);
  const panel: PanelProps = { confirm, report: setStatus };
  return (
    <div class="dashboard">
      <header>
        <h1>Parley operations</h1>
        <p class="who">
          {props.me.username}{' '}
          <button type="button" onClick={() => void props.onLogout()}>
            Log out
          </button>
        </p>
      </header>
      <p role="status" aria-live="polite" class="status" data-testid="status">
        {status}
      </p>
      <section class="counts" aria-label="Summary">
        <div class="count">
          <span class="value" data-testid="online-count">
            {online.value?.count ?? '…'}
          </span>
          <span class="label">users online</span>
        </div>
      </section>
      <QueuesPanel {...panel} />
      <ParkedPanel {...panel} />
      <TasksPanel {...panel} />
      <JobsPanel {...panel} />
      <StatsPanel />
      <WebhooksPanel />
      {dialog}
    </div>
  );
}

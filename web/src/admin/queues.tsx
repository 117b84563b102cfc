import { useRef } from 'preact/hooks';
import { parley, errorText, usePoll } from '../shared/session.js';
import { when } from '../shared/ui.js';
import { LIVE_MS, type PanelProps } from './dashboard.js';
import { ListTable } from './table.js';

/** Every queue with its depth, and how fast the ready count moves between two samples. */
export function QueuesPanel(_props: PanelProps) {
  const previous = useRef<{ at: number; ready: Record<string, number> } | null>(null);
  const rates = useRef<Record<string, number>>({});
  const queues = usePoll(async () => {
    const result = await parley.api.queues({});
    const now = Date.now();
    const ready = Object.fromEntries((result.queues ?? []).map((q) => [q.name, q.ready]));
    const before = previous.current;
    if (before) {
      const seconds = (now - before.at) / 1000;
      for (const [name, value] of Object.entries(ready))
        rates.current[name] = (value - (before.ready[name] ?? value)) / seconds;
    }
    previous.current = { at: now, ready };
    return result.queues ?? [];
  }, LIVE_MS);
  return (
    <section aria-labelledby="queues-title">
      <h2 id="queues-title">Queues</h2>
      {queues.error && <p class="error">{queues.error}</p>}
      <ListTable
        testId="queues"
        rows={queues.value ?? []}
        rowKey={(q) => q.name}
        rowAttr="queue"
        columns={[
          { label: 'Queue', cell: (q) => q.name },
          { label: 'Ready', cell: (q) => q.ready },
          { label: 'Change / s', cell: (q) => (rates.current[q.name] ?? 0).toFixed(1) },
          { label: 'Unacked (this api)', cell: (q) => q.unacknowledged ?? '—' },
          { label: 'Consumers', cell: (q) => q.consumers },
          {
            label: 'Parked',
            cell: (q) => q.parked,
            tone: (q) => (q.parked > 0 ? 'warn' : ''),
            testId: (q) => `parked-count-${q.name}`,
          },
        ]}
      />
    </section>
  );
}

/**
 * Parked jobs of every queue Parley owns (the job queues and each event consumer's), each one
 * requeued or discarded after a confirmation.
 */
export function ParkedPanel(props: PanelProps) {
  const names = usePoll(
    async () => ((await parley.api.queues({})).queues ?? []).map((q) => q.name),
    LIVE_MS,
  );
  return (
    <section aria-labelledby="parked-title">
      <h2 id="parked-title">Parked jobs</h2>
      {names.error && <p class="error">{names.error}</p>}
      {(names.value ?? []).map((queue) => (
        <ParkedList key={queue} queue={queue} {...props} />
      ))}
    </section>
  );
}

function ParkedList(props: PanelProps & { queue: string }) {
  const { queue, confirm, report } = props;
  const parked = usePoll(
    () => parley.api.parkedJobs({ params: { queue }, query: { limit: 50 } }),
    LIVE_MS,
  );
  const act = async (kind: 'requeue' | 'discard', ids?: string[]) => {
    const what = ids ? `job ${ids[0]}` : `every parked job of ${queue}`;
    const verb = kind === 'requeue' ? 'Requeue' : 'Discard';
    if (!(await confirm(`${verb} ${what}?`))) return;
    try {
      const body = ids ? { ids } : undefined;
      const count =
        kind === 'requeue'
          ? (await parley.api.requeueParked({ params: { queue }, body })).requeued
          : (await parley.api.discardParked({ params: { queue }, body })).discarded;
      report(`${kind === 'requeue' ? 'Requeued' : 'Discarded'} ${count} job(s) of ${queue}.`);
    } catch (error) {
      report(`${verb} failed: ${errorText(error)}`);
    }
    parked.refresh();
  };
  const items = parked.value?.items ?? [];
  return (
    <div class="parked" data-testid={`parked-${queue}`}>
      <h3>{queue}</h3>
      {parked.error && <p class="error">{parked.error}</p>}
      <ListTable
        rows={items}
        rowKey={(job) => job.id}
        rowAttr="job"
        empty="Nothing parked."
        columns={[
          { label: 'Job', cell: (job) => <code>{job.id}</code> },
          { label: 'Error', cell: (job) => job.error ?? '—' },
          { label: 'Attempts', cell: (job) => job.attempts },
          { label: 'Parked', cell: (job) => when(job.parkedAt) },
          {
            label: 'Actions',
            tone: () => 'actions',
            cell: (job) => (
              <>
                <button
                  type="button"
                  aria-label={`Requeue job ${job.id}`}
                  onClick={() => void act('requeue', [job.id])}
                >
                  Requeue
                </button>
                <button
                  type="button"
                  class="danger"
                  aria-label={`Discard job ${job.id}`}
                  onClick={() => void act('discard', [job.id])}
                >
                  Discard
                </button>
              </>
            ),
          },
        ]}
      />
      {items.length > 0 && (
        <p class="actions">
          <button type="button" onClick={() => void act('requeue')}>
            Requeue all
          </button>
          <button type="button" class="danger" onClick={() => void act('discard')}>
            Discard all
          </button>
        </p>
      )}
    </div>
  );
}

import { parley, errorText, usePoll } from '../shared/session.js';
import { when } from '../shared/ui.js';
import { LIVE_MS, type PanelProps } from './dashboard.js';
import { ListTable } from './table.js';

/** Active tasks of every user (cancellable) and the latest failures. */
export function TasksPanel({ confirm, report }: PanelProps) {
  const tasks = usePoll(async () => {
    const [active, failed] = await Promise.all([
      parley.api.listTasks({ query: { all: 'true', state: 'active', limit: 20 } }),
      parley.api.listTasks({ query: { all: 'true', state: 'failed', limit: 10 } }),
    ]);
    return { active: active.items, failed: failed.items };
  }, LIVE_MS);
  const cancel = async (id: string) => {
    if (!(await confirm(`Cancel task ${id}?`))) return;
    try {
      const { task } = await parley.api.cancelTask({ params: { id } });
      report(`Task ${id} is ${task.cancelRequested ? 'being cancelled' : task.state}.`);
    } catch (error) {
      report(`Cancel failed: ${errorText(error)}`);
    }
    tasks.refresh();
  };
  return (
    <section aria-labelledby="tasks-title">
      <h2 id="tasks-title">Tasks</h2>
      {tasks.error && <p class="error">{tasks.error}</p>}
      <h3>Active</h3>
      <ListTable
        testId="active-tasks"
        rows={tasks.value?.active}
        rowKey={(task) => task.id}
        rowAttr="task"
        empty="No task is queued or running."
        columns={[
          { label: 'Task', cell: (task) => <code>{task.id}</code> },
          { label: 'Type', cell: (task) => task.type },
          { label: 'State', cell: (task) => (task.cancelRequested ? 'cancelling' : task.state) },
          {
            label: 'Progress',
            cell: (task) => (
              <progress value={task.progress} max={1} aria-label={`Progress of ${task.id}`} />
            ),
          },
          { label: 'Created', cell: (task) => when(task.createdAt) },
          {
            label: 'Actions',
            cell: (task) => (
              <button
                type="button"
                class="danger"
                aria-label={`Cancel task ${task.id}`}
                onClick={() => void cancel(task.id)}
              >
                Cancel
              </button>
            ),
          },
        ]}
      />
      <h3>Recently failed</h3>
      {(tasks.value?.failed.length ?? 0) === 0 ? (
        <p class="muted">No failed task.</p>
      ) : (
        <ul>
          {tasks.value?.failed.map((task) => (
            <li key={task.id}>
              <code>{task.id}</code> {task.type}: {task.error ?? 'failed'} ({when(task.finishedAt)})
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

const TRIGGERS = [
  { label: 'Compute hourly stats', run: () => parley.api.runStatsHourly({}) },
  { label: 'Clean orphaned uploads', run: () => parley.api.runMediaCleanup({}) },
  { label: 'Optimize large images', run: () => parley.api.runMediaOptimize({}) },
  { label: 'Queue due auto messages', run: () => parley.api.queueAutoMessages({}) },
] as const;

/** Recent runs of scheduled jobs, and buttons that run one now. */
export function JobsPanel({ confirm, report }: PanelProps) {
  const runs = usePoll(() => parley.api.jobRuns({ query: { limit: 15 } }), LIVE_MS);
  const trigger = async (label: string, run: () => Promise<{ runId: string }>) => {
    if (!(await confirm(`${label} now?`))) return;
    try {
      const { runId } = await run();
      report(`${label}: run ${runId} done.`);
    } catch (error) {
      report(`${label} failed: ${errorText(error)}`);
    }
    runs.refresh();
  };
  return (
    <section aria-labelledby="jobs-title">
      <h2 id="jobs-title">Scheduled jobs</h2>
      <p class="actions">
        {TRIGGERS.map((t) => (
          <button key={t.label} type="button" onClick={() => void trigger(t.label, t.run)}>
            {t.label}
          </button>
        ))}
      </p>
      {runs.error && <p class="error">{runs.error}</p>}
      <ListTable
        testId="job-runs"
        rows={runs.value?.items}
        rowKey={(run) => run.id}
        columns={[
          { label: 'Job', cell: (run) => run.name },
          { label: 'Trigger', cell: (run) => run.trigger },
          { label: 'Started', cell: (run) => when(run.startedAt) },
          {
            label: 'Outcome',
            cell: (run) => run.outcome,
            tone: (run) => (run.outcome === 'failed' ? 'warn' : ''),
          },
          {
            label: 'Counts or error',
            cell: (run) =>
              run.error ??
              Object.entries(run.counts)
                .map(([k, v]) => `${k}: ${String(v)}`)
                .join(', '),
          },
        ]}
      />
    </section>
  );
}

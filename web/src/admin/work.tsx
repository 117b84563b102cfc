import { parley, errorText, usePoll } from '../shared/session.js';
import { when } from '../shared/ui.js';
import { LIVE_MS, type PanelProps } from './dashboard.js';

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
      {(tasks.value?.active.length ?? 0) === 0 ? (
        <p class="muted">No task is queued or running.</p>
      ) : (
        <table data-testid="active-tasks">
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Type</th>
              <th scope="col">State</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {tasks.value?.active.map((task) => (
              <tr key={task.id} data-task={task.id}>
                <th scope="row">
                  <code>{task.id}</code>
                </th>
                <td>{task.type}</td>
                <td>{task.cancelRequested ? 'cancelling' : task.state}</td>
                <td>
                  <progress value={task.progress} max={1} aria-label={`Progress of ${task.id}`} />
                </td>
                <td>{when(task.createdAt)}</td>
                <td>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Cancel task ${task.id}`}
                    onClick={() => void cancel(task.id)}
                  >
                    Cancel
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
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
      <table data-testid="job-runs">
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Trigger</th>
            <th scope="col">Started</th>
            <th scope="col">Outcome</th>
            <th scope="col">Counts or error</th>
          </tr>
        </thead>
        <tbody>
          {(runs.value?.items ?? []).map((run) => (
            <tr key={run.id}>
              <th scope="row">{run.name}</th>
              <td>{run.trigger}</td>
              <td>{when(run.startedAt)}</td>
              <td class={run.outcome === 'failed' ? 'warn' : ''}>{run.outcome}</td>
              <td>
                {run.error ??
                  Object.entries(run.counts)
                    .map(([k, v]) => `${k}: ${String(v)}`)
                    .join(', ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { parley, usePoll } from '../shared/session.js';

const DAY_MS = 24 * 3600 * 1000;
/** Hourly stats change once an hour; a minute is live enough for them. */
const STATS_MS = 60_000;

/** Messages, active senders and new users per hour over the last day (stats_hourly). */
export function StatsPanel() {
  const stats = usePoll(
    () =>
      parley.api.stats({
        query: { from: new Date(Date.now() - DAY_MS).toISOString(), to: new Date().toISOString() },
      }),
    STATS_MS,
  );
  const holder = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const items = stats.value?.items ?? [];
  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const data: uPlot.AlignedData = [
      items.map((h) => Date.parse(h.hour) / 1000),
      items.map((h) => h.messages),
      items.map((h) => h.activeSenders),
      items.map((h) => h.newUsers),
    ];
    if (chart.current) {
      chart.current.setData(data);
      return;
    }
    chart.current = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 220,
        series: [
          {},
          { label: 'Messages', stroke: '#1d4ed8', width: 2 },
          { label: 'Active senders', stroke: '#b45309', width: 2 },
          { label: 'New users', stroke: '#047857', width: 2 },
        ],
      },
      data,
      el,
    );
  }, [items]);
  useEffect(() => () => chart.current?.destroy(), []);
  const total = items.reduce((sum, h) => sum + h.messages, 0);
  return (
    <section aria-labelledby="stats-title">
      <h2 id="stats-title">Hourly activity (last 24 h)</h2>
      {stats.error && <p class="error">{stats.error}</p>}
      <p class="muted" data-testid="stats-summary">
        {items.length} hour(s) computed, {total} message(s).
      </p>
      <div ref={holder} class="chart" role="img" aria-label="Messages per hour" />
    </section>
  );
}

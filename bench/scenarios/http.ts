import autocannon from 'autocannon';
import { http } from '../../test/support/http.js';
import type { BenchChild } from '../lib/child.js';
import type { Fixtures } from '../lib/fixtures.js';
import { compareRuns, medians, withCpu, type Measured } from '../lib/measure.js';
import { interleave } from '../lib/stats.js';
import type { Context, RowResult } from '../lib/types.js';
import type { RealtimeSides } from './realtime.js';

interface CannonResult {
  perSecond: number;
  requests: number;
  bad: number;
  p99Ms: number;
}

/** `length`: for so many milliseconds, or (`{ requests }`) until so many have been answered. */
async function cannon(
  url: string,
  connections: number,
  length: number | { requests: number },
  headers: Record<string, string> = {},
): Promise<CannonResult> {
  const result = await autocannon({
    url,
    connections,
    ...(typeof length === 'number' ? { duration: length / 1000 } : { amount: length.requests }),
    headers,
  });
  const requests = result.requests.total;
  const seconds = typeof length === 'number' ? length / 1000 : result.duration;
  return {
    perSecond: requests / seconds,
    requests,
    bad: result.non2xx + result.errors + result.timeouts,
    p99Ms: result.latency.p99,
  };
}

interface Target {
  child: BenchChild;
  path: string;
  headers: Record<string, string>;
}

async function compare(
  ctx: Context,
  parley: Target,
  baseline: Target,
  connections: number,
): Promise<{ a: Measured<CannonResult>[]; b: Measured<CannonResult>[] }> {
  const pids = (child: BenchChild) => ({
    server: child.pid,
    ...ctx.servicePids,
    engine: ctx.engine.pid,
  });
  const warm = Math.min(1000, ctx.profile.httpMs);
  await cannon(parley.child.url + parley.path, connections, warm, parley.headers);
  await cannon(baseline.child.url + baseline.path, connections, warm, baseline.headers);
  const run = (t: Target) => () =>
    withCpu(pids(t.child), () =>
      cannon(
        t.child.url + t.path,
        connections,
        ctx.profile.httpRequests ? { requests: ctx.profile.httpRequests } : ctx.profile.httpMs,
        t.headers,
      ),
    );
  return interleave(ctx.profile.reps, run(parley), run(baseline));
}

function throughputRow(
  id: string,
  scenario: string,
  budgetRatio: number,
  ratioNote: string,
  runs: { a: Measured<CannonResult>[]; b: Measured<CannonResult>[] },
): RowResult {
  const m = compareRuns(
    runs,
    (v) => v.perSecond,
    (v) => v.requests,
    { digits: 0 },
  );
  const bad = [...runs.a, ...runs.b].reduce((n, s) => n + s.value.bad, 0);
  return {
    id,
    scenario,
    unit: 'req/s',
    ...m.reported,
    ratioNote,
    budget: `≥ ${budgetRatio}× baseline`,
    // A side that served nothing (a stalled run) gives an infinite or NaN ratio: not a pass.
    met: Number.isFinite(m.ratio) && m.ratio >= budgetRatio && bad === 0,
    details: { non2xxOrErrors: bad, p99Ms: medians(runs, (v) => v.p99Ms) },
  };
}

/** A user's conversations in the list row. */
const LIST_SIZE = 20;

/** The history page, the conversation list and the authenticated request overhead. */
export async function httpRows(
  ctx: Context,
  sides: RealtimeSides,
  fixtures: Fixtures,
): Promise<RowResult[]> {
  const [alice, bob] = await fixtures.usersWithTokens(2);
  if (!alice || !bob) throw new Error('no users');
  const conversationId = await fixtures.directConversation(alice.userId, bob.userId);
  await fixtures.messagesIn(
    conversationId,
    [alice.userId, bob.userId],
    ctx.profile.historyMessages,
  );
  const auth = { authorization: `Bearer ${alice.token}` };

  // Alice's list: the conversation with Bob and LIST_SIZE - 1 more, a few messages each.
  const others = await fixtures.bulkUsers(LIST_SIZE - 1);
  for (const other of others) {
    const id = await fixtures.directConversation(alice.userId, other.toHexString());
    await fixtures.messagesIn(id, [other.toHexString(), alice.userId], 3);
  }

  const historyPath = `/api/conversations/${conversationId}/messages`;
  const page = await http<{ items: unknown[] }>(sides.parley.url, 'GET', historyPath, {
    token: alice.token,
  });
  if (page.status !== 200 || page.body.items.length !== 50)
    throw new Error(`history page: ${page.status} with ${page.body.items?.length} items`);
  ctx.log(`history: 20 connections, ${ctx.profile.httpMs} ms × ${ctx.profile.reps} each`);
  const history = await compare(
    ctx,
    { child: sides.parley, path: historyPath, headers: auth },
    { child: sides.baseline, path: historyPath, headers: {} },
    20,
  );

  const listPath = '/api/conversations';
  const list = await http<{ items: unknown[] }>(sides.parley.url, 'GET', listPath, {
    token: alice.token,
  });
  if (list.status !== 200 || list.body.items.length !== LIST_SIZE)
    throw new Error(`conversation list: ${list.status} with ${list.body.items?.length} items`);
  ctx.log(`conversation list: 20 connections, ${ctx.profile.httpMs} ms × ${ctx.profile.reps} each`);
  const listRuns = await compare(
    ctx,
    { child: sides.parley, path: listPath, headers: auth },
    { child: sides.baseline, path: `${listPath}?as=${alice.userId}`, headers: {} },
    20,
  );

  const me = await http(sides.parley.url, 'GET', '/api/auth/me', { token: alice.token });
  if (me.status !== 200) throw new Error(`GET /api/auth/me: ${me.status}`);
  await sides.baseline.call('setMe', me.body);
  ctx.log(`auth/me: 20 connections, ${ctx.profile.httpMs} ms × ${ctx.profile.reps} each`);
  const meRuns = await compare(
    ctx,
    { child: sides.parley, path: '/api/auth/me', headers: auth },
    { child: sides.baseline, path: '/api/auth/me', headers: {} },
    20,
  );
  return [
    throughputRow(
      'history-page',
      'history page (50 messages): `GET /api/conversations/:id/messages`, 20 concurrent',
      1.5,
      'Parley req/s ÷ bare-driver route req/s',
      history,
    ),
    throughputRow(
      'conversation-list',
      `conversation list (${LIST_SIZE} conversations): \`GET /api/conversations\`, 20 concurrent`,
      1.5,
      'Parley req/s ÷ bare-driver route req/s (the list query, summaries, an unread count each)',
      listRuns,
    ),
    throughputRow(
      'auth-me',
      "auth'd request overhead: `GET /api/auth/me`, 20 concurrent",
      0.8,
      'Parley req/s ÷ unauthenticated Express route (same JSON) req/s',
      meRuns,
    ),
  ];
}

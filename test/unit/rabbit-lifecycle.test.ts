import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QueueUnavailableError } from '../../src/infra/job-errors.js';
import {
  initialState,
  liveOf,
  publishAccess,
  transition,
  type Phase,
  type RabbitEvent,
  type RabbitState,
} from '../../src/infra/rabbit/lifecycle.js';
import { Supervisor } from '../../src/infra/rabbit/supervisor.js';
import { silentLogger } from '../../src/logger.js';

type Event = RabbitEvent<string>;
const gaveUp: Event = { type: 'gave-up', error: new Error('ECONNREFUSED') };

/** Runs events from the initial state and returns every phase passed through. */
function run(...events: Event[]): { phases: Phase[]; state: RabbitState<string> } {
  let state: RabbitState<string> = initialState;
  const phases: Phase[] = [state.phase];
  for (const event of events) {
    state = transition(state, event);
    phases.push(state.phase);
  }
  return { phases, state };
}

describe('rabbit life cycle transitions', () => {
  test('start, connect, lose the connection, reconnect with a new live connection', () => {
    const { phases, state } = run(
      { type: 'start' },
      { type: 'up', live: 'conn-1' },
      { type: 'down', reason: 'broker stopped' },
      { type: 'up', live: 'conn-2' },
    );
    assert.deepEqual(phases, ['idle', 'connecting', 'ready', 'connecting', 'ready']);
    assert.equal(liveOf(state), 'conn-2');
  });

  test('blocked keeps the connection but makes publishes wait; unblocked resumes', () => {
    const blocked = run(
      { type: 'start' },
      { type: 'up', live: 'c' },
      { type: 'blocked', reason: 'low on memory' },
    ).state;
    assert.deepEqual(blocked, { phase: 'blocked', live: 'c', reason: 'low on memory' });
    assert.equal(liveOf(blocked), 'c');
    assert.equal(publishAccess(blocked), 'wait');
    const resumed = transition(blocked, { type: 'unblocked' });
    assert.deepEqual(publishAccess(resumed), { use: 'c' });
    assert.equal(transition(blocked, { type: 'down', reason: 'x' }).phase, 'connecting');
  });

  test('start-up giving up returns to idle, from where connect may start again', () => {
    assert.deepEqual(run({ type: 'start' }, gaveUp, { type: 'start' }).phases, [
      'idle',
      'connecting',
      'idle',
      'connecting',
    ]);
  });

  test('closing keeps the connection for in-flight work until it goes; closed is final', () => {
    const closing = run({ type: 'start' }, { type: 'up', live: 'c' }, { type: 'close' }).state;
    assert.deepEqual(closing, { phase: 'closing', live: 'c' });
    assert.deepEqual(publishAccess(closing), { use: 'c' });
    const lost = transition(closing, { type: 'down', reason: 'gone' });
    assert.deepEqual(lost, { phase: 'closing', live: null });
    assert.equal(publishAccess(lost), 'unavailable');
    const closed = transition(lost, { type: 'closed' });
    assert.equal(closed.phase, 'closed');
    const events: Event[] = [
      { type: 'start' },
      { type: 'up', live: 'late' },
      { type: 'unblocked' },
      { type: 'close' },
    ];
    for (const event of events) assert.equal(transition(closed, event), closed, event.type);
    assert.equal(publishAccess(closed), 'unavailable');
  });

  test('close from every phase but closed goes to closing; a second close changes nothing', () => {
    const states: RabbitState<string>[] = [
      { phase: 'idle' },
      { phase: 'connecting' },
      { phase: 'ready', live: 'c' },
      { phase: 'blocked', live: 'c', reason: 'r' },
    ];
    for (const state of states) {
      const closing = transition(state, { type: 'close' });
      assert.equal(closing.phase, 'closing', state.phase);
      assert.equal(transition(closing, { type: 'close' }), closing);
    }
  });

  test('events that mean nothing in a phase leave the state as it was', () => {
    const ignored: [RabbitState<string>, Event][] = [
      [{ phase: 'idle' }, { type: 'up', live: 'c' }],
      [{ phase: 'idle' }, { type: 'closed' }],
      [{ phase: 'connecting' }, { type: 'blocked', reason: 'r' }],
      [{ phase: 'connecting' }, { type: 'start' }],
      [{ phase: 'ready', live: 'c' }, gaveUp],
      [
        { phase: 'closing', live: 'c' },
        { type: 'up', live: 'late' },
      ],
    ];
    for (const [state, event] of ignored)
      assert.equal(transition(state, event), state, `${state.phase} + ${event.type}`);
  });

  test('only ready and a draining close publish; idle and connecting wait', () => {
    assert.equal(publishAccess({ phase: 'idle' }), 'wait');
    assert.equal(publishAccess({ phase: 'connecting' }), 'wait');
    assert.equal(liveOf({ phase: 'connecting' }), null);
  });
});

describe('rabbit supervisor', () => {
  test('a publish waiting out an outage gets the new connection when it is up', async () => {
    const supervisor = new Supervisor<string>(silentLogger);
    supervisor.dispatch({ type: 'start' });
    const waiting = supervisor.whenPublishable(60_000);
    supervisor.dispatch({ type: 'up', live: 'conn-1' });
    assert.equal(await waiting, 'conn-1');
    assert.equal(await supervisor.whenPublishable(0), 'conn-1', 'ready: no wait at all');
  });

  test('waiting publishes reject clearly on close and after their bound', async () => {
    const supervisor = new Supervisor<string>(silentLogger);
    supervisor.dispatch({ type: 'start' });
    const bounded = supervisor.whenPublishable(1);
    await assert.rejects(bounded, (err: Error) => {
      assert.ok(err instanceof QueueUnavailableError);
      assert.match(err.message, /no RabbitMQ connection within 1 ms/);
      return true;
    });
    const waiting = supervisor.whenPublishable(60_000);
    supervisor.dispatch({ type: 'close' });
    await assert.rejects(waiting, QueueUnavailableError);
  });

  test('connect outcome: ready resolves, giving up rejects with the cause, close rejects', async () => {
    const ok = new Supervisor<string>(silentLogger);
    ok.dispatch({ type: 'start' });
    const started = ok.whenStarted();
    ok.dispatch({ type: 'up', live: 'c' });
    await started;

    const refused = new Supervisor<string>(silentLogger);
    refused.dispatch({ type: 'start' });
    const failing = refused.whenStarted();
    refused.dispatch(gaveUp);
    await assert.rejects(failing, (err: Error) => {
      assert.ok(err instanceof QueueUnavailableError);
      assert.equal(err.cause, (gaveUp as { error: Error }).error);
      return true;
    });
    assert.equal(refused.state.phase, 'idle');

    const closed = new Supervisor<string>(silentLogger);
    closed.dispatch({ type: 'start' });
    const interrupted = closed.whenStarted();
    closed.dispatch({ type: 'close' });
    await assert.rejects(interrupted, /closed while connecting/);
  });
});

/**
 * The life cycle of the broker connection as data: a state and the pure function that moves it.
 * No I/O here, so every transition is unit-tested without a broker; the supervisor applies them.
 *
 *   idle ──start──▶ connecting ──up──▶ ready ◀──unblocked── blocked
 *    ▲                │  ▲              │  └─────blocked──────▶ │
 *    └────gave-up─────┘  └─────down─────┴───────────down────────┘
 *   any state but closed ──close──▶ closing ──closed──▶ closed (final)
 *
 * `live` (channels and the connection they belong to) exists in `ready` and `blocked`, and in
 * `closing` until the connection goes: in-flight jobs finishing during a graceful stop can still
 * move a failed job to its retry queue. A state without a connection cannot hand one out.
 */
export type RabbitState<L> =
  /** Never started, or start-up gave up (connect() may be called again). */
  | { readonly phase: 'idle' }
  /** Opening or re-opening a connection and declaring topology. */
  | { readonly phase: 'connecting' }
  | { readonly phase: 'ready'; readonly live: L }
  /** Connected, but the broker stopped reading publishes (resource alarm): publishes wait. */
  | { readonly phase: 'blocked'; readonly live: L; readonly reason: string }
  /** close() is running its steps; `live` is kept (null once the connection is gone). */
  | { readonly phase: 'closing'; readonly live: L | null }
  | { readonly phase: 'closed' };

export type Phase = RabbitState<unknown>['phase'];

export type RabbitEvent<L> =
  /** connect() was called. */
  | { readonly type: 'start' }
  /** A (re)connection finished its setup: topology declared, channels open. */
  | { readonly type: 'up'; readonly live: L }
  /** The connection or one of its channels was lost; recovery reconnects. */
  | { readonly type: 'down'; readonly reason: string }
  | { readonly type: 'blocked'; readonly reason: string }
  | { readonly type: 'unblocked' }
  /** Start-up retries ran out. */
  | { readonly type: 'gave-up'; readonly error: Error }
  /** close() was called. */
  | { readonly type: 'close' }
  /** close() finished every step. */
  | { readonly type: 'closed' };

export const initialState: RabbitState<never> = { phase: 'idle' };

/**
 * The next state. An event that means nothing in a state leaves it unchanged (the same object),
 * e.g. a late `up` while closing: the supervisor closes that connection with the rest.
 */
export function transition<L>(state: RabbitState<L>, event: RabbitEvent<L>): RabbitState<L> {
  if (event.type === 'close') {
    if (state.phase === 'closed' || state.phase === 'closing') return state;
    return { phase: 'closing', live: liveOf(state) };
  }
  switch (state.phase) {
    case 'idle':
      return event.type === 'start' ? { phase: 'connecting' } : state;
    case 'connecting':
      if (event.type === 'up') return { phase: 'ready', live: event.live };
      if (event.type === 'gave-up') return { phase: 'idle' };
      return state;
    case 'ready':
    case 'blocked':
      return whileConnected(state, event);
    case 'closing':
      if (event.type === 'closed') return { phase: 'closed' };
      if (event.type === 'down' && state.live !== null) return { phase: 'closing', live: null };
      return state;
    case 'closed':
      return state;
  }
}

function whileConnected<L>(
  state: Extract<RabbitState<L>, { live: L }>,
  event: RabbitEvent<L>,
): RabbitState<L> {
  switch (event.type) {
    case 'down':
      return { phase: 'connecting' };
    case 'up':
      return { phase: 'ready', live: event.live };
    case 'blocked':
      return { phase: 'blocked', live: state.live, reason: event.reason };
    case 'unblocked':
      return { phase: 'ready', live: state.live };
    default:
      return state;
  }
}

/** The live connection if there is one: admin checks, health and consumers use it. */
export function liveOf<L>(state: RabbitState<L>): L | null {
  switch (state.phase) {
    case 'ready':
    case 'blocked':
    case 'closing':
      return state.live;
    default:
      return null;
  }
}

/**
 * What a publish may do now: use `live`, wait for the connection to come back (or the broker to
 * unblock), or fail because it never will (closing without a connection, closed).
 */
export function publishAccess<L>(
  state: RabbitState<L>,
): { readonly use: L } | 'wait' | 'unavailable' {
  switch (state.phase) {
    case 'ready':
      return { use: state.live };
    case 'closing':
      // Draining: jobs still in flight may publish on the connection close() has not shut yet.
      return state.live === null ? 'unavailable' : { use: state.live };
    case 'closed':
      return 'unavailable';
    default:
      return 'wait';
  }
}

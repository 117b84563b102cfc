/**
 * The tests' waits, in a module of their own (no app, no sockets) so unit tests can use them
 * too; test/support/sockets.ts re-exports them.
 */

/**
 * Every deadline of the tests' waits, scaled by TEST_PATIENCE (default 1): a machine busy with
 * other work (several suites at once) gets longer before a wait is called lost. A deadline only
 * ends a wait that would otherwise hang; it is never what a test asserts.
 */
export function patient(timeoutMs: number): number {
  return timeoutMs * PATIENCE;
}
const PATIENCE = Math.max(1, Number(process.env.TEST_PATIENCE ?? 1) || 1);

/**
 * Polls `check` until it returns true, or fails after `timeoutMs` saying `what` it waited for
 * (a string, or a function that explains the state it found). The one polling loop of the tests.
 */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
  what: string | (() => Promise<string>) = 'condition',
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + patient(timeoutMs);
  while (!(await check())) {
    if (Date.now() > deadline) {
      const detail = typeof what === 'string' ? `waiting for ${what}` : await what();
      throw new Error(`timed out after ${patient(timeoutMs)} ms ${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * The engine without the network: a store and the command dispatcher, for benchmarks that
 * measure the engine's own cost. Not a stable API.
 */
export { Store } from './store.js';
export { executeCommand } from './commands/index.js';

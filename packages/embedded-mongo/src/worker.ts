// Entry point of the engine's Worker (see worker-host.ts); loaded as dist/.../worker.js.
import { runEngineWorker } from './worker-protocol.js';

void runEngineWorker();

import { startEmbeddedMongo } from '@parley/embedded-mongo';
import { serveParent } from '../lib/child.js';

/**
 * The embedded MongoDB engine alone, shared by Parley and the bare-driver baselines: in memory,
 * or journaled to `ENGINE_DIR` when the parent sets it (the journal on/off row).
 */
const dataDir = process.env.ENGINE_DIR;
const engine = await startEmbeddedMongo({ port: 0, ...(dataDir ? { dataDir } : {}) });
serveParent({ url: engine.uri }, {}, () => engine.stop());

import { startEmbeddedMongo } from '@parley/embedded-mongo';
import { serveParent } from '../lib/child.js';

/** The embedded MongoDB engine alone, shared by Parley and the bare-driver baselines. */
const engine = await startEmbeddedMongo({ port: 0 });
serveParent({ url: engine.uri }, {}, () => engine.stop());

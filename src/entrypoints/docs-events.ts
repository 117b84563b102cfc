import { writeFileSync } from 'node:fs';
import { renderEventsDoc } from '../docs/events-doc.js';

// `npm run docs:events`: rewrites docs/EVENTS.md from the event contracts.
writeFileSync(new URL('../../../docs/EVENTS.md', import.meta.url), renderEventsDoc());
console.log('docs/EVENTS.md written');

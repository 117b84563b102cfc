import type { Doc } from './key-index.js';

/** MongoDB's name for an index created without one: `field_direction` pairs joined by `_`. */
export function defaultIndexName(raw: Doc, key: Doc): string {
  if (typeof raw.name === 'string') return raw.name;
  return Object.entries(key)
    .map(([field, direction]) => `${field}_${String(direction)}`)
    .join('_');
}

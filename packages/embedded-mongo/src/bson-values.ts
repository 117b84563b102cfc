import { EJSON } from 'bson';

/**
 * BSON value helpers: MongoDB's cross-type sort order, canonical keys and cloning.
 * Values come from `bson.deserialize` with promoted numbers, so Int32/Double are JS numbers
 * and BSON classes are recognised by their `_bsontype` tag (robust across bson copies).
 */

type Tagged = { _bsontype: string };

function bsonTag(v: object): string | undefined {
  const tag = (v as Partial<Tagged>)._bsontype;
  return typeof tag === 'string' ? tag : undefined;
}

/** Rank of a value's type in MongoDB's comparison order (MinKey < null < numbers < ... < MaxKey). */
export function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 1;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 3;
    case 'boolean':
      return 8;
    case 'object':
      break;
    default:
      return 3;
  }
  if (Array.isArray(v)) return 5;
  if (v instanceof Date) return 9;
  if (v instanceof RegExp) return 11;
  if (v instanceof Uint8Array) return 6;
  switch (bsonTag(v)) {
    case 'MinKey':
      return 0;
    case 'Long':
    case 'Decimal128':
    case 'Int32':
    case 'Double':
      return 2;
    case 'BSONSymbol':
      return 3;
    case 'Binary':
      return 6;
    case 'ObjectId':
      return 7;
    case 'Timestamp':
      return 10;
    case 'BSONRegExp':
      return 11;
    case 'MaxKey':
      return 12;
    default:
      return 4;
  }
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const s = (v as { toString(): string }).toString();
  return Number(s);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function objectIdBytes(v: unknown): Uint8Array {
  return (v as { id: Uint8Array }).id;
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const fa = ka[i] as string;
    const fb = kb[i] as string;
    const byType = typeRank(a[fa]) - typeRank(b[fb]);
    if (byType !== 0) return byType;
    if (fa !== fb) return fa < fb ? -1 : 1;
    const c = compareValues(a[fa], b[fb]);
    if (c !== 0) return c;
  }
  return ka.length - kb.length;
}

function compareArrays(a: unknown[], b: unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Total order over BSON values following MongoDB's comparison/sort order. */
export function compareValues(a: unknown, b: unknown): number {
  // Fast paths for the common same-type pairs; the same results as the general code below.
  const ta = typeof a;
  if (ta === typeof b) {
    if (ta === 'string' || ta === 'number') {
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    }
    if (ta === 'object' && a !== null && b !== null) {
      if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
      if (
        (a as Partial<Tagged>)._bsontype === 'ObjectId' &&
        (b as Partial<Tagged>)._bsontype === 'ObjectId'
      ) {
        return compareBytes(objectIdBytes(a), objectIdBytes(b));
      }
    }
  }
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 2: {
      const x = toNumber(a);
      const y = toNumber(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 3: {
      const x = String(a);
      const y = String(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 4:
      return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
    case 5:
      return compareArrays(a as unknown[], b as unknown[]);
    case 6:
      return compareBinary(a, b);
    case 7:
      return compareBytes(objectIdBytes(a), objectIdBytes(b));
    case 8:
      return Number(a) - Number(b);
    case 9:
      return (a as Date).getTime() - (b as Date).getTime();
    case 10:
      return compareValues(toNumber(a), toNumber(b));
    default:
      return 0;
  }
}

function compareBinary(a: unknown, b: unknown): number {
  const bytes = (v: unknown): Uint8Array =>
    v instanceof Uint8Array ? v : (v as { buffer: Uint8Array }).buffer;
  return compareBytes(bytes(a), bytes(b));
}

/** Canonical string for an _id value: equal ids (in MongoDB's sense) get equal keys. */
export function idKey(id: unknown): string {
  switch (typeof id) {
    case 'string':
      return 's' + id;
    case 'number':
      return 'n' + String(id);
    default:
      break;
  }
  if (typeof id === 'object' && id !== null && bsonTag(id) === 'ObjectId') {
    return 'o' + (id as { toHexString(): string }).toHexString();
  }
  if (id instanceof Date) return 'd' + String(id.getTime());
  return 'x' + EJSON.stringify({ v: id }, { relaxed: false });
}

/** True for plain documents (not arrays, dates or BSON value classes). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Deep copy of documents and arrays; immutable BSON values are shared, Dates copied. */
export function cloneDeep<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x: unknown) => cloneDeep(x)) as T;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = cloneDeep(v[k]);
  return out as T;
}

/**
 * All values at a dotted path, expanding arrays like a multikey index does.
 * A missing path yields `[undefined]`; an empty array yields `[undefined]` too.
 */
export function pathValues(doc: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  collect(doc, path.split('.'), 0, out);
  if (out.length === 0) out.push(undefined);
  return out;
}

function collect(cur: unknown, parts: string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (Array.isArray(cur)) for (const el of cur) out.push(el);
    else out.push(cur);
    return;
  }
  if (Array.isArray(cur)) {
    const key = parts[i] as string;
    if (/^\d+$/.test(key)) {
      collect(cur[Number(key)], parts, i + 1, out);
      return;
    }
    for (const el of cur) collect(el, parts, i, out);
    return;
  }
  if (typeof cur !== 'object' || cur === null || !isPlainObject(cur)) {
    if (i < parts.length) return;
  }
  const next = (cur as Record<string, unknown> | null)?.[parts[i] as string];
  if (next === undefined) return;
  collect(next, parts, i + 1, out);
}

/** The single value at a dotted path (no array expansion), or undefined. */
export function getPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * Order-preserving string encodings of index keys, for bulk sorts (index builds, recovery):
 * comparing two encodings with `<` gives the same order as `KeyIndex`'s entry comparison, and
 * string comparison is far cheaper than comparing BSON values field by field. Only the common
 * key types are encoded (null/missing, JS numbers, strings, ObjectId, Date, boolean); anything
 * else returns undefined and the caller sorts with the general comparison instead.
 *
 * Each value is its type rank (MongoDB's cross-type order, as in bson-values.ts) followed by:
 * numbers and dates as 8 big-endian bytes of an order-preserving double transform; ObjectIds as
 * their 12 bytes; strings as their UTF-16 code units (JS string order) with NUL escaped as
 * NUL 1 and a NUL NUL terminator; booleans as one byte. A descending field has every code unit
 * complemented (0xFFFF - c), which reverses its order; the terminator keeps prefixes right.
 */
const RANK_NULL = 1;
const RANK_NUMBER = 2;
const RANK_STRING = 3;
const RANK_OBJECT_ID = 7;
const RANK_BOOL = 8;
const RANK_DATE = 9;

const scratch = new DataView(new ArrayBuffer(8));

function orderedDouble(n: number): string {
  scratch.setFloat64(0, n === 0 ? 0 : n);
  let hi = scratch.getUint32(0);
  let lo = scratch.getUint32(4);
  if (hi & 0x80000000) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else {
    hi = (hi | 0x80000000) >>> 0;
  }
  return String.fromCharCode(
    hi >>> 24,
    (hi >>> 16) & 0xff,
    (hi >>> 8) & 0xff,
    hi & 0xff,
    lo >>> 24,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
  );
}

function rank(r: number): string {
  return String.fromCharCode(0x20 + r);
}

const OID_CHARS: string[] = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i));

/** The ascending encoding of one value, or undefined for a type it does not cover. */
export function encodeValue(v: unknown): string | undefined {
  switch (typeof v) {
    case 'undefined':
      return rank(RANK_NULL);
    case 'number':
      return Number.isNaN(v) ? undefined : rank(RANK_NUMBER) + orderedDouble(v);
    case 'string':
      return rank(RANK_STRING) + (v.includes('\0') ? v.replaceAll('\0', '\0\u0001') : v) + '\0\0';
    case 'boolean':
      return rank(RANK_BOOL) + (v ? '\u0001' : '\0');
    case 'object':
      break;
    default:
      return undefined;
  }
  if (v === null) return rank(RANK_NULL);
  if (v instanceof Date) {
    const t = v.getTime();
    return Number.isNaN(t) ? undefined : rank(RANK_DATE) + orderedDouble(t);
  }
  if ((v as { _bsontype?: unknown })._bsontype === 'ObjectId') {
    const bytes = (v as { id: Uint8Array }).id;
    let s = rank(RANK_OBJECT_ID);
    for (let i = 0; i < 12; i++) s += OID_CHARS[bytes[i] as number] as string;
    return s;
  }
  return undefined;
}

function complement(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(0xffff - s.charCodeAt(i));
  return out;
}

/**
 * The encoding of an index entry: each key field in its direction, then the document's _id
 * ascending (every index is ordered by _id within equal keys). Undefined if any is not covered.
 */
export function encodeEntry(key: unknown[], dirs: number[], id: unknown): string | undefined {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const part = encodeValue(key[i]);
    if (part === undefined) return undefined;
    out += dirs[i] === -1 ? complement(part) : part;
  }
  const idPart = encodeValue(id);
  return idPart === undefined ? undefined : out + idPart;
}

import fc from 'fast-check';

/**
 * fast-check arbitraries read off JSON Schema (the OpenAPI document's request schemas and the
 * socket contract's payload schemas, both generated from the zod schemas that validate input):
 * `valid` draws values the schema accepts, biased to boundaries and awkward text; `refused` draws
 * values it refuses, each with one definite violation (wrong type, operator object, length or
 * range off by one, a pattern broken, a required field missing, an unknown key).
 */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
}

export interface SchemaHints {
  /** Resolves a `$ref` of the document the schema came from. */
  resolve(ref: string): JsonSchema;
  /** Ids the server handed out that a field of this name may take, read at draw time. */
  idsFor(name: string | undefined): readonly string[];
}

/** Text no validator should choke on: NUL, unicode edge cases, markup and operator look-alikes. */
const NASTY_TEXT = [
  '\u0000',
  'a\u0000b',
  '\u202Eevil',
  '\uFEFF',
  '\uD800',
  '\uDFFF',
  '👨‍👩‍👧‍👦',
  'ｅｘａｍｐｌｅ',
  '<script>alert(1)</script>',
  '{"$gt":""}',
  '$where',
  '__proto__',
  '../../etc/passwd',
  '%00',
  'null',
];

/** Objects that a careless query builder would run as MongoDB operators. */
export const OPERATORS: readonly Record<string, unknown>[] = [
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(1000)' },
  { $regex: '.*' },
  { $in: ['a', 'b'] },
  { $exists: true },
  { $expr: { $eq: [1, 1] } },
];

/** Keys that poison prototypes when merged into objects. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

const OBJECT_ID = /^\^?\[0-9a-fA-F\]\{24\}\$?$|^\^\[0-9a-f\]\{24\}\$$/;

function resolved(schema: JsonSchema, hints: SchemaHints): JsonSchema {
  return schema.$ref ? resolved(hints.resolve(schema.$ref), hints) : schema;
}

function typesOf(schema: JsonSchema): string[] {
  if (schema.enum) return [...new Set(schema.enum.map(jsonType))];
  if (schema.type === undefined) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Values the schema accepts; `name` is the field's, which says what kind of id it takes. */
export function valid(raw: JsonSchema, hints: SchemaHints, name?: string): fc.Arbitrary<unknown> {
  const schema = resolved(raw, hints);
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices) return fc.oneof(...choices.map((s) => valid(s, hints, name)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  const types = typesOf(schema);
  if (types.length === 0) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(...types.map((type) => validOfType(type, schema, hints, name)));
}

function validOfType(
  type: string,
  schema: JsonSchema,
  hints: SchemaHints,
  name: string | undefined,
): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return validString(schema, hints, name);
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? -1e6;
      const max = schema.maximum ?? 1e6;
      const values = fc.integer({ min: Math.ceil(min), max: Math.floor(max) });
      return fc.oneof(values, fc.constantFrom(Math.ceil(min), Math.floor(max)));
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = schema.minItems ?? 0;
      const maxLength = Math.min(schema.maxItems ?? 5, minLength + 5);
      return fc.array(valid(schema.items ?? {}, hints, name), { minLength, maxLength });
    }
    case 'object':
      return validObject(schema, hints);
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

function validObject(schema: JsonSchema, hints: SchemaHints): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const model = Object.fromEntries(
    Object.entries(properties).map(([key, s]) => [key, valid(s, hints, key)]),
  );
  return fc.record(model, { requiredKeys: schema.required ?? [] });
}

function validString(
  schema: JsonSchema,
  hints: SchemaHints,
  name: string | undefined,
): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? 300;
  const fits = (s: string) => s.length >= min && s.length <= max;
  if (schema.pattern && OBJECT_ID.test(schema.pattern)) {
    const hex = fc.stringMatching(new RegExp(schema.pattern));
    const known = knownId(hints, name);
    return fc.oneof({ arbitrary: known, weight: 3 }, hex).filter((s) => s !== '');
  }
  if (schema.format === 'date-time') {
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
  }
  // Only loopback targets: a webhook or avatar URL must never point off this machine.
  if (schema.format === 'uri') {
    return fc
      .tuple(fc.integer({ min: 1, max: 65535 }), fc.webSegment())
      .map(([port, segment]) => `http://127.0.0.1:${port}/${segment}`)
      .filter(fits);
  }
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter(fits);
  const cap = Math.min(max, min + 40);
  return fc
    .oneof(
      { arbitrary: fc.string({ minLength: min, maxLength: cap }), weight: 4 },
      { arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: cap }), weight: 2 },
      { arbitrary: fc.string({ unit: 'binary', minLength: min, maxLength: cap }), weight: 1 },
      {
        arbitrary: fc.constantFrom(...NASTY_TEXT).map((s) => s.padEnd(min, 'x')),
        weight: 2,
      },
      // The boundaries themselves.
      { arbitrary: fc.constantFrom('x'.repeat(min), 'x'.repeat(max)), weight: 1 },
    )
    .filter((s) => fits(s) && (min === 0 || s.trim().length > 0));
}

/** One of the ids the server handed out for fields of this name (drawn by index, read late). */
export function knownId(hints: SchemaHints, name: string | undefined): fc.Arbitrary<string> {
  return fc.nat().map((i) => {
    const ids = hints.idsFor(name);
    return ids[i % ids.length] ?? '';
  });
}

/** A value of some JSON type the schema does not allow at all. */
function wrongType(schema: JsonSchema): fc.Arbitrary<unknown> {
  const allowed = new Set(typesOf(schema));
  if (allowed.has('number')) allowed.add('integer');
  const candidates: unknown[] = [
    'text',
    '',
    0,
    -1,
    1.5,
    1e308,
    true,
    false,
    null,
    [],
    ['text'],
    {},
    ...OPERATORS,
  ];
  return fc.constantFrom(
    ...candidates.filter((v) => !allowed.has(jsonType(v)) && !isEnumMember(schema, v)),
  );
}

function isEnumMember(schema: JsonSchema, value: unknown): boolean {
  return schema.enum?.some((e) => e === value) ?? false;
}

/**
 * Values the schema refuses, or null when it refuses nothing. `where` says how the value
 * travels: in a query string or path only strings exist (so "wrong type" means a string the
 * coercion cannot take).
 */
export function refused(
  raw: JsonSchema,
  hints: SchemaHints,
  where: 'json' | 'text' = 'json',
): fc.Arbitrary<unknown> | null {
  const schema = resolved(raw, hints);
  const choices = schema.anyOf ?? schema.oneOf;
  // A value refused by every branch: a wrong type for all of them.
  if (choices) return wrongTypeForAll(choices.map((s) => resolved(s, hints)));
  const types = typesOf(schema);
  if (types.length === 0) return null;
  const arbitraries: fc.Arbitrary<unknown>[] = where === 'json' ? [wrongType(schema)] : [];
  if (schema.enum) {
    arbitraries.push(
      fc.constantFrom('', 'other', ...schema.enum.map((e) => `${String(e)} `), 'TRUE'),
    );
    return fc.oneof(...arbitraries);
  }
  if (types.includes('string')) arbitraries.push(...refusedStrings(schema));
  if (types.includes('integer') || types.includes('number'))
    arbitraries.push(...refusedNumbers(schema, where, types.includes('integer')));
  if (types.includes('array') && where === 'json')
    arbitraries.push(...refusedArrays(schema, hints));
  if (types.includes('object') && where === 'json')
    arbitraries.push(...refusedObjects(schema, hints));
  return arbitraries.length ? fc.oneof(...arbitraries) : null;
}

function wrongTypeForAll(choices: JsonSchema[]): fc.Arbitrary<unknown> {
  const allowed = new Set(choices.flatMap(typesOf));
  const candidates: unknown[] = ['text', 0, true, null, [], ['text']];
  return fc.constantFrom(...candidates.filter((v) => !allowed.has(jsonType(v))));
}

function refusedStrings(schema: JsonSchema): fc.Arbitrary<unknown>[] {
  const out: fc.Arbitrary<unknown>[] = [];
  if (schema.maxLength !== undefined) {
    const over = schema.maxLength + 1;
    out.push(fc.constantFrom('y'.repeat(over), '😀'.repeat(over), 'z'.repeat(over * 4)));
  }
  if (schema.minLength !== undefined && schema.minLength > 0) {
    out.push(fc.constant('q'.repeat(schema.minLength - 1)));
  }
  if (schema.pattern) {
    const pattern = new RegExp(schema.pattern);
    // Servers may trim and lower-case before the check (usernames do): refused either way.
    const breaks = (s: string) => !pattern.test(s) && !pattern.test(s.trim().toLowerCase());
    out.push(
      fc
        .oneof(
          fc.constantFrom(...NASTY_TEXT),
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
          fc.stringMatching(pattern).map((s) => `${s}\u0000`),
        )
        .filter(breaks),
    );
  }
  if (schema.format === 'date-time') {
    out.push(fc.constantFrom('2020-13-45T00:00:00Z', 'yesterday', '1700000000', '2020-01-01'));
  }
  if (schema.format === 'uri') out.push(fc.constantFrom('not a url', '://', 'http//x'));
  return out;
}

function refusedNumbers(
  schema: JsonSchema,
  where: 'json' | 'text',
  integer: boolean,
): fc.Arbitrary<unknown>[] {
  const bad: number[] = [];
  if (schema.minimum !== undefined) bad.push(schema.minimum - 1, schema.minimum - 1000);
  if (schema.maximum !== undefined) bad.push(schema.maximum + 1, Number.MAX_SAFE_INTEGER * 4);
  if (integer) bad.push((schema.minimum ?? 0) + 0.5);
  const out: fc.Arbitrary<unknown>[] = [];
  if (bad.length) out.push(fc.constantFrom(...(where === 'text' ? bad.map(String) : bad)));
  if (where === 'text') out.push(fc.constantFrom('abc', 'NaN', 'Infinity', '1e400', '-'));
  else out.push(fc.constantFrom('1', '', '0x10'));
  return out;
}

function refusedArrays(schema: JsonSchema, hints: SchemaHints): fc.Arbitrary<unknown>[] {
  const item = valid(schema.items ?? {}, hints);
  const out: fc.Arbitrary<unknown>[] = [];
  if (schema.minItems !== undefined && schema.minItems > 0) {
    out.push(fc.array(item, { minLength: schema.minItems - 1, maxLength: schema.minItems - 1 }));
  }
  if (schema.maxItems !== undefined) {
    const over = schema.maxItems + 1;
    out.push(item.map((v) => Array.from({ length: over }, () => v)));
  }
  const badItem = schema.items ? refused(schema.items, hints) : null;
  if (badItem) {
    const length = Math.max(1, schema.minItems ?? 1);
    out.push(
      fc
        .tuple(fc.array(item, { minLength: length, maxLength: length }), badItem, fc.nat())
        .map(([items, bad, at]) => items.map((v, i) => (i === at % items.length ? bad : v))),
    );
  }
  return out;
}

function refusedObjects(schema: JsonSchema, hints: SchemaHints): fc.Arbitrary<unknown>[] {
  const base = validObject(schema, hints) as fc.Arbitrary<Record<string, unknown>>;
  const properties = Object.entries(schema.properties ?? {});
  const out: fc.Arbitrary<unknown>[] = [];
  const required = schema.required ?? [];
  if (required.length) {
    out.push(
      fc.tuple(base, fc.constantFrom(...required)).map(([value, key]) => {
        const { [key]: _dropped, ...rest } = value;
        return rest;
      }),
    );
  }
  const refusable = properties.flatMap(([key, s]) => {
    const bad = refused(s, hints);
    return bad ? [{ key, bad }] : [];
  });
  if (refusable.length) {
    out.push(
      fc
        .constantFrom(...refusable)
        .chain(({ key, bad }) => fc.tuple(base, bad).map(([value, v]) => ({ ...value, [key]: v }))),
    );
  }
  if (schema.additionalProperties === false) {
    const names = new Set(properties.map(([key]) => key));
    const extra = fc
      .oneof(
        fc.constantFrom('role', 'isAdmin', '$where', 'constructor', '_id', 'passwordHash'),
        fc.string({ minLength: 1, maxLength: 12 }),
      )
      .filter((key) => !names.has(key));
    out.push(
      fc
        .tuple(base, extra, fc.jsonValue({ maxDepth: 1 }))
        .map(([value, key, v]) => ({ ...value, [key]: v })),
    );
  }
  return out;
}

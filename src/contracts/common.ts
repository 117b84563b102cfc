import { z } from 'zod';

/** Shapes shared by many routes: the error body, ids, and cursor pages. */

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

export const ObjectIdString = z
  .string()
  .regex(/^[0-9a-fA-F]{24}$/, 'must be a 24-character hex id');

export const IdParams = z.object({ id: z.string().min(1).max(64) });

export const Limit = z.coerce.number().int().min(1).max(100).default(50);

export function page<T extends z.ZodType>(item: T, id: string) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() }).meta({ id });
}

export const IsoDate = z.iso.datetime();

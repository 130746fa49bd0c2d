// Shared zod building blocks for request bodies and query strings.
import { z } from 'zod';
import { REGEX_DIALECT, regexProblem } from './regex';

export const nameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'must start with a letter and contain only letters, digits, _ . -');

/** A regular expression that RE2 runs (policy predicates, eval expectations): refused at save time otherwise. */
export const regexSchema = z
  .string()
  .max(1000)
  .superRefine((s, ctx) => {
    const problem = regexProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: `must be a regular expression RE2 can run: ${problem}` });
  })
  .meta({ description: REGEX_DIALECT });

export const metadataSchema = z
  .record(z.string().max(64), z.unknown())
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 keys')
  .refine((m) => JSON.stringify(m).length <= 16_384, 'at most 16 KiB');

/** `?after=`: an id or a name from an earlier page; anything else is refused rather than matched. */
export const cursorSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.-]+$/, 'is not a cursor returned by this list');

export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: cursorSchema.optional(),
});

export type ListQuery = z.infer<typeof listQuerySchema>;

export interface ListEnvelope<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export const isoDate = (d: Date | string | null | undefined): string | null =>
  d == null ? null : new Date(d).toISOString();

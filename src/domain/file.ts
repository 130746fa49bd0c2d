// Files (API.md 11): the upload's form fields, the list query, the `input_file` run input part, and
// which files a model may read (UTF-8 text up to 1 MiB; images of the types both providers accept).
import { z } from 'zod';
import { cursorSchema } from './common';

/** Text files beyond this are not put into a model's input (API.md 11). */
export const MAX_TEXT_FILE_BYTES = 1024 * 1024;
/** The smallest per-image limit of the providers (Anthropic: 5 MB). */
export const MAX_IMAGE_FILE_BYTES = 5 * 1024 * 1024;
/** `input_file` parts in one run's input: each one is read on every model call. */
export const MAX_INPUT_FILES = 20;

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const TEXT_TYPES = new Set(['application/json', 'application/xml', 'application/yaml', 'application/x-yaml', 'application/javascript', 'application/x-ndjson', 'application/csv', 'application/sql', 'application/toml']);

export const fileIdSchema = z.string().regex(/^file_[0-9a-f]{32}$/, 'is not a file id');

export const filePartSchema = z.strictObject({ type: z.literal('input_file'), file_id: z.string().min(1).max(100) });

/** The form fields besides `file` (multipart/form-data). */
export const fileFieldsSchema = z.strictObject({
  session_id: z.string().min(1).max(100).optional(),
  purpose: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'may contain only letters, digits, _ . -').optional(),
});

/** The whole upload form, for the OpenAPI document (the route parses the stream itself). */
export const fileUploadFormSchema = fileFieldsSchema.extend({
  file: z.string().meta({ format: 'binary', description: `The file's bytes; its part's filename and Content-Type are kept` }),
});

export const fileListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: cursorSchema.optional(),
  session_id: z.string().min(1).max(100).optional(),
});

export type FileFields = z.infer<typeof fileFieldsSchema>;
export type FileListQuery = z.infer<typeof fileListQuerySchema>;

/** A part's Content-Type reduced to its media type; anything unusable is application/octet-stream. */
export function normalizeContentType(value: string | undefined): string {
  const media = (value ?? '').split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(media) ? media : 'application/octet-stream';
}

export const isImageType = (contentType: string): boolean => IMAGE_TYPES.has(contentType);

/** How a file can enter a model's input, or why it cannot. */
export function inputKind(f: { content_type: string; bytes: number; text_utf8: boolean }): { kind: 'text' | 'image' } | { kind: 'unsupported'; reason: string } {
  if (isImageType(f.content_type)) {
    return f.bytes <= MAX_IMAGE_FILE_BYTES ? { kind: 'image' } : { kind: 'unsupported', reason: `images may be at most ${MAX_IMAGE_FILE_BYTES} bytes` };
  }
  const texty = f.content_type.startsWith('text/') || TEXT_TYPES.has(f.content_type) || /\+(json|xml)$/.test(f.content_type)
    // A browser sends a file of unknown type as octet-stream: valid UTF-8 is taken as text.
    || f.content_type === 'application/octet-stream';
  if (!texty) return { kind: 'unsupported', reason: `files of type ${f.content_type} cannot be model input (text and images can)` };
  if (!f.text_utf8) return { kind: 'unsupported', reason: `text files must be valid UTF-8 of at most ${MAX_TEXT_FILE_BYTES} bytes` };
  return { kind: 'text' };
}

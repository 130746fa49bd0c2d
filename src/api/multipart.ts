// multipart/form-data uploads (RFC 7578) as a stream of form events, parsed by busboy with bounded memory:
// a file part's bytes are handed on as they arrive (never collected); other parts are small fields.
import { isUtf8 } from 'node:buffer';
import busboy from 'busboy';
import { PlatformError, validationFailed } from '../domain/errors';

export type FormEvent =
  | { type: 'field'; name: string; value: string }
  | { type: 'file'; name: string; filename: string; content_type: string | undefined }
  | { type: 'data'; data: Buffer }
  | { type: 'file_end' };

export interface FormLimits {
  /** Parts in one form. (A part's header block is bounded by busboy: 16 KiB.) */
  parts: number;
  /** One non-file field's value. */
  fieldBytes: number;
}

const DEFAULT_LIMITS: FormLimits = { parts: 10, fieldBytes: 1024 };

const bad = (message: string): PlatformError => validationFailed(`The multipart body is malformed: ${message}`);

/** The boundary of a multipart/form-data Content-Type; anything else is `unsupported_media_type`. */
export function boundaryOf(contentType: string | undefined): string {
  const [media, ...params] = (contentType ?? '').split(';');
  if (media?.trim().toLowerCase() !== 'multipart/form-data') {
    throw new PlatformError('unsupported_media_type', 'The request body must be multipart/form-data');
  }
  for (const p of params) {
    const m = /^\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s";]{1,70}))\s*$/i.exec(p);
    if (m) return (m[1] ?? m[2])!;
  }
  throw bad('the Content-Type has no valid boundary');
}

/**
 * The form events of a request body (RFC 7578, parsed by busboy), pulled as the consumer is ready for
 * them: the next chunk of the body is parsed only once every event of the one before has been taken, so a
 * consumer that awaits (a database write per file chunk) holds at most one chunk's events in memory. A
 * part is a file when it has a filename; its bytes are handed on as they arrive, never collected. Throws
 * PlatformError 400 on a malformed body or one past `limits`.
 */
export async function* formEvents(body: AsyncIterable<Buffer>, contentType: string | undefined, limits: Partial<FormLimits> = {}): AsyncGenerator<FormEvent> {
  boundaryOf(contentType); // 415, or 400 without a boundary, before anything is parsed
  const l = { ...DEFAULT_LIMITS, ...limits };
  const parser = busboy({
    headers: { 'content-type': contentType! },
    // Fields arrive as latin1 (one char per byte) so that their UTF-8 can be checked here, not replaced.
    defCharset: 'latin1',
    defParamCharset: 'utf8',
    // The filename as sent: the service decides what a name may be (a path is refused there, not cut).
    preservePath: true,
    limits: { parts: l.parts, fields: l.parts, files: l.parts, fieldSize: l.fieldBytes, headerPairs: 64 },
  });
  // In the order busboy parsed them: fields, and files whose data their streams deliver on later ticks
  // (a file's events are handed on before anything parsed after it, even if that came in the same chunk).
  type Item = { field: FormEvent; complete: boolean } | { file: FormEvent; data: Buffer[]; ended: boolean; announced: boolean };
  const queue: Item[] = [];
  let failure: PlatformError | undefined;
  let closed = false;
  let wake: (() => void) | undefined;
  const poke = (): void => wake?.();
  const fail = (err: PlatformError): void => {
    failure ??= err;
    poke();
  };
  const field = (name: string, value: string): void => {
    const checked = fieldValue(name, value);
    if (checked instanceof PlatformError) fail(checked);
    else queue.push({ field: { type: 'field', name, value: checked }, complete: true });
    poke();
  };
  parser.on('field', (name, value, info) => {
    if (info.valueTruncated) return fail(validationFailed(`${name} exceeds ${l.fieldBytes} bytes`, name));
    field(name, value);
  });
  parser.on('file', (name, stream, info) => {
    // A file cut short fails its stream too; the parser's own error says why.
    stream.on('error', () => undefined);
    if (info.filename === undefined) {
      // busboy takes an application/octet-stream part without a filename for a file: here it is a field.
      const chunks: Buffer[] = [];
      let bytes = 0;
      const slot = { field: { type: 'field', name, value: '' } as FormEvent, complete: false };
      queue.push(slot);
      stream.on('data', (d: Buffer) => {
        bytes += d.length;
        if (bytes > l.fieldBytes) fail(validationFailed(`${name} exceeds ${l.fieldBytes} bytes`, name));
        else chunks.push(d);
      });
      stream.on('end', () => {
        const checked = fieldValue(name, Buffer.concat(chunks).toString('latin1'));
        if (checked instanceof PlatformError) fail(checked);
        else (slot.field as { value: string }).value = checked;
        slot.complete = true;
        poke();
      });
      return;
    }
    const item = { file: { type: 'file', name, filename: info.filename, content_type: info.mimeType } as FormEvent, data: [] as Buffer[], ended: false, announced: false };
    queue.push(item);
    stream.on('data', (d: Buffer) => {
      item.data.push(d);
      poke();
    });
    stream.on('end', () => {
      item.ended = true;
      poke();
    });
  });
  parser.on('partsLimit', () => fail(bad(`more than ${l.parts} parts`)));
  parser.on('error', (err: Error) => fail(bad(/Unexpected end of form/i.test(err.message) ? 'the body ended before the closing boundary' : err.message)));
  parser.on('close', () => {
    closed = true;
    poke();
  });
  const settled = (): Promise<void> => new Promise<void>((resolve) => (wake = resolve)).finally(() => (wake = undefined));
  /** Every event that can be handed on now; stops at a file whose end has not come yet. */
  const ready = function* (): Generator<FormEvent> {
    while (queue.length) {
      if (failure) throw failure;
      const head = queue[0]!;
      if ('field' in head) {
        if (!head.complete) return;
        queue.shift();
        yield head.field;
        continue;
      }
      if (!head.announced) {
        head.announced = true;
        yield head.file;
      }
      while (head.data.length) yield { type: 'data', data: head.data.shift()! };
      if (!head.ended) return;
      queue.shift();
      yield { type: 'file_end' };
    }
    if (failure) throw failure;
  };
  try {
    for await (const chunk of body) {
      await new Promise<void>((resolve) => parser.write(chunk, () => resolve()));
      // A file part's data is pushed to its stream, which emits it on a later tick: let it come.
      await new Promise<void>((resolve) => setImmediate(resolve));
      yield* ready();
    }
    parser.end();
    for (;;) {
      yield* ready();
      if (closed && !queue.length) break;
      // Once the parser has closed, every part has ended: a wait past that would be a part that never does.
      if (closed && !(await Promise.race([settled().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]))) {
        throw bad('a part did not end');
      }
      if (!closed) await settled();
    }
  } finally {
    parser.removeAllListeners();
    parser.on('error', () => undefined);
    parser.destroy();
  }
}

/** A field's value, checked as UTF-8: latin1 text is its bytes; text a part's own charset decoded is taken as it is. */
function fieldValue(name: string, value: string): string | PlatformError {
  // Above U+00FF: decoded by the charset the part declared, and a replacement character is a byte it could not read.
  if (/[^\u0000-\u00ff]/.test(value)) return value.includes('\ufffd') ? validationFailed(`${name} is not valid UTF-8`, name) : value;
  const bytes = Buffer.from(value, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : validationFailed(`${name} is not valid UTF-8`, name);
}

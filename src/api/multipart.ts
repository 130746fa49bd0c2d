// A small streaming multipart/form-data parser (RFC 7578) for uploads: no dependency, bounded memory.
// A file part's bytes are handed on as they arrive (never collected); other parts are small fields.
import { isUtf8 } from 'node:buffer';
import { ApiError, validationFailed } from '../domain/errors';

export type FormEvent =
  | { type: 'field'; name: string; value: string }
  | { type: 'file'; name: string; filename: string; content_type: string | undefined }
  | { type: 'data'; data: Buffer }
  | { type: 'file_end' };

export interface FormLimits {
  /** Parts in one form. */
  parts: number;
  /** One part's header block. */
  headerBytes: number;
  /** One non-file field's value. */
  fieldBytes: number;
}

const DEFAULT_LIMITS: FormLimits = { parts: 10, headerBytes: 8 * 1024, fieldBytes: 1024 };
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_PREAMBLE = 16 * 1024;

const bad = (message: string): ApiError => validationFailed(`The multipart body is malformed: ${message}`);

/** The boundary of a multipart/form-data Content-Type; anything else is 415. */
export function boundaryOf(contentType: string | undefined): string {
  const [media, ...params] = (contentType ?? '').split(';');
  if (media?.trim().toLowerCase() !== 'multipart/form-data') {
    throw new ApiError(415, 'unsupported_media_type', 'The request body must be multipart/form-data');
  }
  for (const p of params) {
    const m = /^\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s";]{1,70}))\s*$/i.exec(p);
    if (m) return (m[1] ?? m[2])!;
  }
  throw bad('the Content-Type has no valid boundary');
}

/** `form-data; name="file"; filename="a.txt"` → its parameters (quoted strings unescaped). */
function dispositionParams(value: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /;\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  for (const m of value.matchAll(re)) out.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  const extended = out.get('filename*');
  if (extended) {
    // RFC 5987: UTF-8''percent-encoded
    const m = /^UTF-8''(.*)$/i.exec(extended);
    try {
      if (m) out.set('filename', decodeURIComponent(m[1]!));
    } catch {
      throw bad('filename* is not validly percent-encoded');
    }
  }
  return out;
}

/** Turns body chunks into form events; `write` and `end` throw ApiError on a malformed body. */
export class MultipartParser {
  // A CRLF before the first boundary makes every delimiter the same: CRLF "--" boundary.
  private buf: Buffer = CRLF;
  private state: 'preamble' | 'after_boundary' | 'headers' | 'body' | 'done' = 'preamble';
  private readonly delimiter: Buffer;
  private parts = 0;
  private preamble = 0;
  private field: { name: string; chunks: Buffer[]; bytes: number } | undefined;
  private readonly limits: FormLimits;

  constructor(boundary: string, limits: Partial<FormLimits> = {}) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  write(chunk: Buffer): FormEvent[] {
    const out: FormEvent[] = [];
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.state === 'done') {
        this.buf = Buffer.alloc(0); // the epilogue is ignored
        return out;
      }
      if (!this.step(out)) return out;
    }
  }

  end(): void {
    if (this.state !== 'done') throw bad('the body ended before the closing boundary');
  }

  /** One transition; false when more input is needed. */
  private step(out: FormEvent[]): boolean {
    const keep = this.delimiter.length - 1;
    switch (this.state) {
      case 'preamble': {
        const i = this.buf.indexOf(this.delimiter);
        if (i < 0) {
          this.preamble += Math.max(0, this.buf.length - keep);
          if (this.preamble > MAX_PREAMBLE) throw bad('no boundary found');
          this.buf = this.buf.subarray(Math.max(0, this.buf.length - keep));
          return false;
        }
        this.buf = this.buf.subarray(i + this.delimiter.length);
        this.state = 'after_boundary';
        return true;
      }
      case 'after_boundary': {
        if (this.buf.length < 2) return false;
        const two = this.buf.subarray(0, 2).toString('latin1');
        this.buf = this.buf.subarray(2);
        if (two === '--') this.state = 'done';
        else if (two === '\r\n') this.state = 'headers';
        else throw bad('a boundary is followed by neither CRLF nor --');
        return true;
      }
      case 'headers': {
        // An empty header block is CRLF at once; else it ends with CRLF CRLF.
        const i = this.buf.subarray(0, 2).equals(CRLF) ? -2 : this.buf.indexOf(HEADER_END);
        if (i === -1) {
          if (this.buf.length > this.limits.headerBytes) throw bad(`a part's headers exceed ${this.limits.headerBytes} bytes`);
          return false;
        }
        if (i > this.limits.headerBytes) throw bad(`a part's headers exceed ${this.limits.headerBytes} bytes`);
        const block = i < 0 ? Buffer.alloc(0) : this.buf.subarray(0, i);
        this.buf = this.buf.subarray(i < 0 ? 2 : i + 4);
        if (++this.parts > this.limits.parts) throw bad(`more than ${this.limits.parts} parts`);
        out.push(...this.startPart(block));
        this.state = 'body';
        return true;
      }
      case 'body': {
        const i = this.buf.indexOf(this.delimiter);
        const end = i < 0 ? Math.max(0, this.buf.length - keep) : i;
        if (end > 0) this.data(this.buf.subarray(0, end), out);
        if (i < 0) {
          this.buf = this.buf.subarray(end);
          return false;
        }
        this.buf = this.buf.subarray(i + this.delimiter.length);
        this.endPart(out);
        this.state = 'after_boundary';
        return true;
      }
      default:
        return false;
    }
  }

  private startPart(block: Buffer): FormEvent[] {
    if (!isUtf8(block)) throw bad("a part's headers are not valid UTF-8");
    const headers = new Map<string, string>();
    for (const line of block.toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw bad(`a part has a malformed header line`);
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const disposition = headers.get('content-disposition') ?? '';
    if (!/^form-data\s*(;|$)/i.test(disposition)) throw bad('a part has no Content-Disposition: form-data');
    const params = dispositionParams(disposition);
    const name = params.get('name');
    if (!name) throw bad('a part has no name');
    const filename = params.get('filename');
    if (filename === undefined) {
      this.field = { name, chunks: [], bytes: 0 };
      return [];
    }
    this.field = undefined;
    return [{ type: 'file', name, filename, content_type: headers.get('content-type') }];
  }

  private data(data: Buffer, out: FormEvent[]): void {
    if (!this.field) {
      // Copied: the parser's buffer is a view that later chunks are appended to.
      out.push({ type: 'data', data: Buffer.from(data) });
      return;
    }
    this.field.bytes += data.length;
    if (this.field.bytes > this.limits.fieldBytes) throw validationFailed(`${this.field.name} exceeds ${this.limits.fieldBytes} bytes`, this.field.name);
    this.field.chunks.push(Buffer.from(data));
  }

  private endPart(out: FormEvent[]): void {
    if (!this.field) {
      out.push({ type: 'file_end' });
      return;
    }
    const value = Buffer.concat(this.field.chunks);
    if (!isUtf8(value)) throw validationFailed(`${this.field.name} is not valid UTF-8`, this.field.name);
    out.push({ type: 'field', name: this.field.name, value: value.toString('utf8') });
    this.field = undefined;
  }
}

/** The form events of a request body, pulled as the consumer is ready for them (backpressure). */
export async function* formEvents(body: AsyncIterable<Buffer>, contentType: string | undefined, limits?: Partial<FormLimits>): AsyncGenerator<FormEvent> {
  const parser = new MultipartParser(boundaryOf(contentType), limits);
  for await (const chunk of body) yield* parser.write(chunk);
  parser.end();
}

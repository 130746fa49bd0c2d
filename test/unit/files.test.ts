// The upload parser (split at every byte, hostile forms), which files a model may read, and how a
// resolved image reaches each provider's wire format.
import { describe, expect, it } from 'vitest';
import { MultipartParser, boundaryOf, type FormEvent } from '../../src/api/multipart';
import { inputKind, normalizeContentType } from '../../src/domain/file';
import type { Message } from '../../src/domain/message';
import { toAnthropicMessages } from '../../src/providers/anthropic';
import { toChatMessages } from '../../src/providers/openai';

const B = 'XyZ-boundary';
const body = Buffer.from(
  `preamble\r\n--${B}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n` +
    `--${B}\r\nContent-Disposition: form-data; name="file"; filename="a \\"q\\".txt"\r\nContent-Type: text/plain\r\n\r\n` +
    `line one\r\n--${B.slice(0, -1)}\r\nline two\r\n--${B}--\r\nepilogue`,
);

function parse(chunks: Buffer[]): { fields: Record<string, string>; file?: { filename: string; content_type?: string; data: string; ended: boolean } } {
  const p = new MultipartParser(B);
  const events: FormEvent[] = chunks.flatMap((c) => p.write(c));
  p.end();
  const out: ReturnType<typeof parse> = { fields: {} };
  for (const e of events) {
    if (e.type === 'field') out.fields[e.name] = e.value;
    if (e.type === 'file') out.file = { filename: e.filename, content_type: e.content_type, data: '', ended: false };
    if (e.type === 'data') out.file!.data += e.data.toString();
    if (e.type === 'file_end') out.file!.ended = true;
  }
  return out;
}

describe('multipart parser', () => {
  it('gives the same fields and bytes however the body is split', () => {
    const expected = { fields: { purpose: 'assistants' }, file: { filename: 'a "q".txt', content_type: 'text/plain', data: `line one\r\n--${B.slice(0, -1)}\r\nline two`, ended: true } };
    expect(parse([body])).toEqual(expected);
    for (let i = 1; i < body.length; i++) expect(parse([body.subarray(0, i), body.subarray(i)])).toEqual(expected);
    expect(parse([...body].map((b) => Buffer.from([b])))).toEqual(expected);
  });

  it('refuses hostile forms with 400 and a non-multipart body with 415', () => {
    const fails = (text: string, limits = {}) => () => {
      const p = new MultipartParser(B, limits);
      p.write(Buffer.from(text));
      p.end();
    };
    expect(fails(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\nno end`)).toThrow(/ended before/);
    expect(fails(`--${B}\r\nX-Other: 1\r\n\r\nv\r\n--${B}--`)).toThrow(/Content-Disposition/);
    expect(fails(`--${B}\r\nContent-Disposition: form-data; name="f"\r\nX: ${'h'.repeat(10_000)}\r\n\r\nv\r\n--${B}--`)).toThrow(/headers exceed/);
    expect(fails(`--${B}\r\nContent-Disposition: form-data; name="f"\r\n\r\n${'v'.repeat(2000)}\r\n--${B}--`)).toThrow(/exceeds 1024 bytes/);
    expect(fails(`--${B}\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n`.repeat(3) + `--${B}--`, { parts: 2 })).toThrow(/more than 2 parts/);
    expect(fails('x'.repeat(40_000))).toThrow(/no boundary/);
    expect(() => boundaryOf('application/json')).toThrow(expect.objectContaining({ status: 415 }));
    expect(() => boundaryOf('multipart/form-data')).toThrow(expect.objectContaining({ status: 400 }));
    expect(boundaryOf('multipart/form-data; boundary="a b"')).toBe('a b');
  });
});

describe('files as model input', () => {
  it('text (UTF-8, up to 1 MiB) and images are accepted; other types are not', () => {
    expect(inputKind({ content_type: 'text/markdown', bytes: 10, text_utf8: true }).kind).toBe('text');
    expect(inputKind({ content_type: 'text/plain', bytes: 10, text_utf8: false }).kind).toBe('unsupported');
    expect(inputKind({ content_type: 'image/png', bytes: 10, text_utf8: false }).kind).toBe('image');
    expect(inputKind({ content_type: 'image/png', bytes: 6 * 1024 * 1024, text_utf8: false }).kind).toBe('unsupported');
    expect(inputKind({ content_type: 'application/pdf', bytes: 10, text_utf8: true }).kind).toBe('unsupported');
    expect(normalizeContentType('Text/Plain; charset=UTF-8')).toBe('text/plain');
    expect(normalizeContentType('<script>')).toBe('application/octet-stream');
  });

  it('a resolved image goes to OpenAI as an image_url data URL and to Anthropic as a base64 image block', () => {
    const m: Message[] = [{ role: 'user', content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', media_type: 'image/png', data: 'iVBORw0=' }] }];
    expect(toChatMessages('', m)).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0=' } }] },
    ]);
    expect(toAnthropicMessages(m)).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0=' } }] },
    ]);
    // Without an image the wire shape is unchanged: plain text.
    expect(toChatMessages('', [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }])).toEqual([{ role: 'user', content: 'hi' }]);
  });
});

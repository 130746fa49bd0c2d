// The upload form events (busboy, the body split at every byte, hostile forms), which files a model may
// read, and how a resolved image reaches each provider's wire format.
import { describe, expect, it } from 'vitest';
import { boundaryOf, formEvents, type FormEvent, type FormLimits } from '../../src/api/multipart';
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

const CT = `multipart/form-data; boundary=${B}`;

async function events(chunks: Buffer[], limits?: Partial<FormLimits>): Promise<FormEvent[]> {
  const out: FormEvent[] = [];
  for await (const e of formEvents((async function* () { yield* chunks; })(), CT, limits)) out.push(e);
  return out;
}

async function parse(chunks: Buffer[]): Promise<{ fields: Record<string, string>; file?: { filename: string; content_type?: string; data: string; ended: boolean } }> {
  const out: Awaited<ReturnType<typeof parse>> = { fields: {} };
  for (const e of await events(chunks)) {
    if (e.type === 'field') out.fields[e.name] = e.value;
    if (e.type === 'file') out.file = { filename: e.filename, content_type: e.content_type, data: '', ended: false };
    if (e.type === 'data') out.file!.data += e.data.toString();
    if (e.type === 'file_end') out.file!.ended = true;
  }
  return out;
}

describe('multipart form events', () => {
  it('gives the same fields and bytes however the body is split', async () => {
    const expected = { fields: { purpose: 'assistants' }, file: { filename: 'a "q".txt', content_type: 'text/plain', data: `line one\r\n--${B.slice(0, -1)}\r\nline two`, ended: true } };
    expect(await parse([body])).toEqual(expected);
    for (let i = 1; i < body.length; i++) expect(await parse([body.subarray(0, i), body.subarray(i)])).toEqual(expected);
    expect(await parse([...body].map((b) => Buffer.from([b])))).toEqual(expected);
  });

  it('keeps UTF-8 fields and filenames, and the filename as sent', async () => {
    const form = Buffer.from(
      `--${B}\r\nContent-Disposition: form-data; name="note"\r\n\r\nZürich ✓\r\n` +
        `--${B}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''%C3%A9t%C3%A9.txt\r\n\r\nx\r\n` +
        `--${B}\r\nContent-Disposition: form-data; name="other"; filename="../up/a.txt"\r\n\r\ny\r\n--${B}--\r\n`,
    );
    const evs = await events([form]);
    expect(evs.filter((e) => e.type === 'field')).toEqual([{ type: 'field', name: 'note', value: 'Zürich ✓' }]);
    expect(evs.filter((e) => e.type === 'file').map((e) => (e as { filename: string }).filename)).toEqual(['été.txt', '../up/a.txt']);
  });

  it('hands on every part in order, also several in one chunk, and an octet-stream part without a filename as a field', async () => {
    const form = Buffer.from(
      `--${B}\r\nContent-Disposition: form-data; name="files"; filename="a.md"\r\n\r\nAAA\r\n` +
        `--${B}\r\nContent-Disposition: form-data; name="files"; filename="b.md"\r\n\r\nBBB\r\n` +
        `--${B}\r\nContent-Disposition: form-data; name="kind"\r\nContent-Type: application/octet-stream\r\n\r\nbundle\r\n--${B}--\r\n`,
    );
    const seen = (await events([form])).map((e) => (e.type === 'data' ? `data:${e.data.toString()}` : e.type === 'file' ? `file:${e.filename}` : e.type === 'field' ? `field:${e.name}=${e.value}` : e.type));
    expect(seen).toEqual(['file:a.md', 'data:AAA', 'file_end', 'file:b.md', 'data:BBB', 'file_end', 'field:kind=bundle']);
  });

  it('refuses hostile forms (validation_failed) and a non-multipart body (unsupported_media_type)', async () => {
    const fails = (text: string | Buffer, limits?: Partial<FormLimits>) => events([Buffer.from(text)], limits);
    await expect(fails(`--${B}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\nno end`)).rejects.toThrow(/ended before the closing boundary/);
    await expect(fails(`--${B}\r\nContent-Disposition: form-data; name="f"\r\nX: ${'h'.repeat(20_000)}\r\n\r\nv\r\n--${B}--`)).rejects.toThrow(/malformed/i);
    await expect(fails(`--${B}\r\nContent-Disposition: form-data; name="f"\r\n\r\n${'v'.repeat(2000)}\r\n--${B}--`)).rejects.toThrow(/exceeds 1024 bytes/);
    await expect(fails(`--${B}\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n`.repeat(3) + `--${B}--`, { parts: 2 })).rejects.toThrow(/more than 2 parts/);
    await expect(fails(Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="f"\r\n\r\n`), Buffer.from([0xc3, 0x28]), Buffer.from(`\r\n--${B}--`)]))).rejects.toThrow(/f is not valid UTF-8/);
    await expect(fails('x'.repeat(40_000))).rejects.toThrow(expect.objectContaining({ code: 'validation_failed' }));
    // A part without Content-Disposition: form-data is no field and no file: nothing comes of it.
    expect(await fails(`--${B}\r\nX-Other: 1\r\n\r\nv\r\n--${B}--\r\n`)).toEqual([]);
    expect(() => boundaryOf('application/json')).toThrow(expect.objectContaining({ code: 'unsupported_media_type' }));
    expect(() => boundaryOf('multipart/form-data')).toThrow(expect.objectContaining({ code: 'validation_failed' }));
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

// The bounded reader and the SSE decoder's line cap: a body past its limit is refused while it arrives,
// whatever its Content-Length says, and the embeddings call (an answer read whole) uses the limit.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import { BodyTooLargeError, discardBody, limitBytes, readBounded } from '../../src/security/bounded-body';
import { decodeSse } from '../../src/providers/sse-decoder';
import { embedOpenAI } from '../../src/providers/embeddings';
import { guardedFetch } from '../../src/security/network-guard';
import { flood } from '../fixtures/flood';

let server: http.Server;
let base = '';
let closedEarly = 0;
beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    for await (const chunk of req) void chunk;
    const url = new URL(req.url ?? '/', 'http://x');
    const bytes = Number(url.searchParams.get('bytes') ?? 0);
    res.writeHead(200, { 'content-type': 'application/json', ...(url.searchParams.has('length') ? { 'content-length': url.searchParams.get('length')! } : {}) });
    if (url.pathname === '/v1/embeddings') {
      // A 64 MiB vector: '{"data":[{"index":0,"embedding":[0.1,0.1,...'
      if (!(await flood(res, 64 * 1024 * 1024, (n) => (n ? '0.1,'.repeat(16_384) : '{"data":[{"index":0,"embedding":[')))) closedEarly++;
      return void res.end(']}]}');
    }
    if (url.searchParams.has('length')) return void res.end('x'.repeat(Math.min(bytes, 10)));
    if (!(await flood(res, bytes))) closedEarly++;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('bounded reads', () => {
  it('reads a body within the limit whole', async () => {
    expect((await readBounded(await fetch(`${base}/?bytes=100000`), 200_000)).length).toBe(131_072);
  });

  it('a body past the limit is BodyTooLargeError, and the connection is closed before the body ends', async () => {
    const before = closedEarly;
    const err = await readBounded(await fetch(`${base}/?bytes=${64 * 1024 * 1024}`), 1024 * 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyTooLargeError);
    expect((err as Error).message).toBe('the answer is larger than 1 MiB');
    await expect.poll(() => closedEarly).toBe(before + 1);
  });

  it('an announced Content-Length past the limit is refused without reading', async () => {
    await expect(readBounded(await fetch(`${base}/?bytes=5000000&length=5000000`), 1000)).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it('discardBody drops a huge answer without throwing', async () => {
    await expect(discardBody(await fetch(`${base}/?bytes=${32 * 1024 * 1024}`), 64 * 1024)).resolves.toBeUndefined();
  });

  it('limitBytes passes chunks through until the limit', async () => {
    async function* parts() {
      for (let i = 0; i < 10; i++) yield new Uint8Array(100);
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const c of limitBytes(parts(), 550)) seen.push(c.byteLength);
      })(),
    ).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(seen).toHaveLength(5);
  });
});

describe('SSE decoder limits', () => {
  async function* endless(first: string) {
    yield new TextEncoder().encode(first);
    for (;;) yield new TextEncoder().encode('y'.repeat(4096));
  }
  const drain = async (it: AsyncIterable<unknown>) => {
    for await (const m of it) void m;
  };

  it('one line that never ends is BodyTooLargeError past the cap', async () => {
    await expect(drain(decodeSse(endless('data: '), 64 * 1024))).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it('one event of many data lines is BodyTooLargeError past the cap', async () => {
    async function* lines() {
      for (;;) yield new TextEncoder().encode(`data: ${'z'.repeat(1000)}\n`);
    }
    await expect(drain(decodeSse(lines(), 64 * 1024))).rejects.toBeInstanceOf(BodyTooLargeError);
  });
});

describe('embeddings', () => {
  it('an embeddings answer past its limit fails the call (not retryable), and is not read to its end', async () => {
    const endpoint = { base_url: `${base}/v1`, api_key: 'k', headers: {}, fetch: guardedFetch(true) };
    const before = closedEarly;
    const err = await embedOpenAI(endpoint, 'm', 'hi', AbortSignal.timeout(30_000)).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/too large: the answer is larger than 4 MiB/) });
    await expect.poll(() => closedEarly).toBe(before + 1);
  });
});

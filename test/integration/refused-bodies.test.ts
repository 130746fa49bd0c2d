// A request refused before its body was read (a 413 upload, a JSON body over 1 MiB, a form whose first
// part is bad) still gets its answer when the client sends slowly: the API reads the rest of the body
// first, so the client sees the documented error, not EPIPE or a reset, and can keep its connection.
// (The JSON case guards what body-parser already does: it reads a body over its limit to the end.)
// (The landing CI once failed with `fetch failed: write EPIPE` on a 413 skill upload.)
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, newWorkspace } from '../support/api';

interface Answer {
  status: number;
  body: { error?: { code?: string; param?: string } };
  /** Whether the body was sent to its end, and the last piece written before the answer began to arrive. */
  sentAll: boolean;
  error?: string;
  socketReused: boolean;
}

/**
 * POSTs `chunks` with a pause between them on a keep-alive agent, as a slow uploader would, and goes on
 * sending after an early answer (as fetch does); settles once the answer is read and the body sent, or
 * on the first socket error.
 */
function slowPost(agent: http.Agent, api: Api, path: string, contentType: string, chunks: Buffer[], gapMs: number): Promise<Answer> {
  const url = new URL(`${api.base}${path}`);
  const length = chunks.reduce((n, c) => n + c.length, 0);
  return new Promise((resolve) => {
    let sentAll = false;
    let lastWritten = false;
    let answeredBeforeEnd = false;
    let answer: Omit<Answer, 'sentAll'> | undefined;
    let settled = false;
    const settle = (a: Omit<Answer, 'sentAll'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...a, sentAll: sentAll && !answeredBeforeEnd });
    };
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path, method: 'POST', headers: { authorization: `Bearer ${api.key}`, 'content-type': contentType, 'content-length': length } },
      (res) => {
        if (!lastWritten) answeredBeforeEnd = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          answer = { status: res.statusCode!, body: text ? JSON.parse(text) : {}, socketReused: req.reusedSocket };
          if (sentAll) settle(answer);
        });
      },
    );
    // A connection closed under the body without an error event (seen before the fix) is an error too.
    req.on('close', () => setTimeout(() => settle({ status: answer?.status ?? 0, body: answer?.body ?? {}, error: sentAll ? 'closed' : 'closed before the body was sent', socketReused: false }), 50));
    req.setTimeout(20_000, () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', (e) => settle({ status: answer?.status ?? 0, body: answer?.body ?? {}, error: (e as NodeJS.ErrnoException).code ?? e.message, socketReused: false }));
    void (async () => {
      for (const [i, c] of chunks.entries()) {
        if (settled || req.destroyed) return;
        if (i === chunks.length - 1) {
          lastWritten = true;
          break;
        }
        req.write(c);
        await new Promise((r) => setTimeout(r, gapMs));
      }
      req.end(chunks[chunks.length - 1], () => {
        sentAll = true;
        if (answer) settle(answer);
      });
    })();
  });
}

function multipart(boundary: string, parts: { name: string; filename?: string; content: Buffer }[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.filename ? 'Content-Type: text/markdown\r\n' : ''}\r\n`), p.content, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

const pieces = (b: Buffer, n: number): Buffer[] => Array.from({ length: n }, (_, i) => b.subarray(Math.floor((i * b.length) / n), Math.floor(((i + 1) * b.length) / n)));

let api: Api;
let agent: http.Agent;
beforeAll(async () => {
  api = await newWorkspace('refused-bodies');
});
afterAll(() => agent?.destroy());

describe('a refused request body sent slowly', () => {
  it('gets its 413 or 400 answer after the whole body, with no reset, on a connection that stays usable', { timeout: 60_000 }, async () => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const boundary = 'ap-slow-boundary';
    const cases: { name: string; path: string; type: string; body: Buffer; status: number; code: string }[] = [
      {
        name: 'skill file of 4 MiB (limit 1 MiB)',
        path: '/v1/skills',
        type: `multipart/form-data; boundary=${boundary}`,
        body: multipart(boundary, [
          { name: 'id', content: Buffer.from('slow') },
          { name: 'display_title', content: Buffer.from('Slow') },
          { name: 'description', content: Buffer.from('A slow upload') },
          { name: 'files', filename: 'big.md', content: Buffer.alloc(4 * 1024 * 1024, 'x') },
        ]),
        status: 413,
        code: 'payload_too_large',
      },
      {
        name: 'file upload whose first part has no name',
        path: '/v1/files',
        type: `multipart/form-data; boundary=${boundary}`,
        body: multipart(boundary, [
          { name: '', content: Buffer.from('x') },
          { name: 'file', filename: 'a.md', content: Buffer.alloc(2 * 1024 * 1024, 'y') },
        ]),
        status: 400,
        code: 'validation_failed',
      },
      { name: 'JSON body of 4 MB (limit 1 MiB)', path: '/v1/runs', type: 'application/json', body: Buffer.from(JSON.stringify({ input: 'z'.repeat(4_000_000) })), status: 413, code: 'payload_too_large' },
    ];
    const seen: string[] = [];
    for (const c of cases) {
      // 8 pieces 120 ms apart: each body is refused by its first or second piece, long before the last is sent.
      const answer = await slowPost(agent, api, c.path, c.type, pieces(c.body, 8), 120);
      seen.push(`${c.name}: ${answer.status} ${answer.body.error?.code ?? ''} sentAll=${answer.sentAll}${answer.error ? ` error=${answer.error}` : ''}`);
    }
    expect(seen).toEqual(cases.map((c) => `${c.name}: ${c.status} ${c.code} sentAll=true`));
    // The refusals left the connection open for the next request (no Connection: close after a drained body).
    const next = await slowPost(agent, api, '/v1/runs', 'application/json', [Buffer.from('{}')], 0);
    expect(next.status).toBe(400);
    expect(next.socketReused).toBe(true);
    // Nothing was stored.
    expect((await api.get('/v1/skills/slow')).status).toBe(404);
    expect((await api.get('/v1/files')).body.data).toEqual([]);
  });
});

// Log lines as a person reads them on a terminal (pino-pretty), JSON elsewhere or when LOG_FORMAT says
// so (issue 19); the API key stays redacted in both.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/cli/runtime';

function capture() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b.toString()));
  return { stream, text: () => chunks.join('') };
}

const entry = (log: ReturnType<typeof createLogger>) => log.info({ req: { headers: { authorization: 'Bearer ap_secret_value' } }, run_id: 'run_1' }, 'request');
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('logger', () => {
  it('on a terminal writes one readable line per entry, the key redacted', async () => {
    const out = capture();
    entry(createLogger({ logLevel: 'info', logFormat: undefined }, { isTTY: true, stream: out.stream }));
    await settle();
    const text = out.text();
    expect(() => JSON.parse(text)).toThrow();
    expect(text).toMatch(/INFO.*request/);
    expect(text).toContain('run_1');
    expect(text).not.toContain('ap_secret_value');
  });

  it('elsewhere, or with LOG_FORMAT=json on a terminal, writes JSON lines, the key redacted', async () => {
    for (const [format, isTTY] of [[undefined, false], ['json', true]] as const) {
      const out = capture();
      entry(createLogger({ logLevel: 'info', logFormat: format }, { isTTY, stream: out.stream }));
      await settle();
      const line = JSON.parse(out.text().trim()) as { msg: string; run_id: string; req: { headers: { authorization: string } } };
      expect(line).toMatchObject({ msg: 'request', run_id: 'run_1' });
      expect(line.req.headers.authorization).toBe('[Redacted]');
    }
  });

  it('LOG_FORMAT=pretty writes readable lines off a terminal too', async () => {
    const out = capture();
    entry(createLogger({ logLevel: 'info', logFormat: 'pretty' }, { isTTY: false, stream: out.stream }));
    await settle();
    expect(out.text()).toMatch(/INFO.*request/);
    // No colour codes where nobody sees colours.
    expect(out.text()).not.toContain('\x1b[');
  });
});

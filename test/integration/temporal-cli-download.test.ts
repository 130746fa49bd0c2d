// The Temporal CLI from its release archive (issue 19): the real download path against a local HTTP
// server that serves a real archive built from the cached binary, and a corrupted copy of it. A corrupted
// or oversized download is refused and nothing is cached; a good one is unpacked into the cache that
// `ap start` looks in next time. (github.com cannot be reached from this machine.)
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { create } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliArchive, downloadTemporalCli } from '../../src/temporal/cli-download';
import { findTemporalCli } from '../../src/temporal/dev-server';

let server: http.Server;
let base: string;
let work: string;
let good: Buffer;
let sha256: string;
const served: string[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ap-cli-download-test-'));
  // The binary the test setup found (cache, PATH or AP_TEMPORAL_CLI), packed as the release packs it.
  const binary = await findTemporalCli(process.env.AP_TEMPORAL_CLI, () => undefined);
  fs.mkdirSync(path.join(work, 'release'));
  fs.copyFileSync(binary, path.join(work, 'release', 'temporal'));
  fs.writeFileSync(path.join(work, 'release', 'LICENSE'), 'MIT\n');
  await create({ gzip: true, file: path.join(work, 'release.tar.gz'), cwd: path.join(work, 'release') }, ['LICENSE', 'temporal']);
  good = fs.readFileSync(path.join(work, 'release.tar.gz'));
  sha256 = crypto.createHash('sha256').update(good).digest('hex');
  const corrupted = Buffer.from(good);
  corrupted[Math.floor(corrupted.length / 2)]! ^= 0xff;
  server = http.createServer((req, res) => {
    served.push(req.url ?? '');
    if (req.url === '/good.tar.gz') return void res.end(good);
    if (req.url === '/corrupted.tar.gz') return void res.end(corrupted);
    if (req.url === '/huge.tar.gz') {
      res.writeHead(200, { 'content-length': String(300 * 1024 * 1024) });
      return void res.write(good.subarray(0, 1024));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  fs.rmSync(work, { recursive: true, force: true });
});

const version = (bin: string) => execFileSync(bin, ['--version'], { encoding: 'utf8' });
const quiet = { update: () => undefined, done: () => undefined };

describe('Temporal CLI download', () => {
  it('downloads, checks and unpacks the binary, which runs', async () => {
    const dir = path.join(work, 'cache-good');
    const lines: string[] = [];
    const bin = await downloadTemporalCli({ url: `${base}/good.tar.gz`, sha256 }, dir, { update: () => undefined, done: (l) => void lines.push(l) });
    expect(bin).toBe(path.join(dir, 'temporal'));
    expect(fs.readdirSync(dir)).toEqual(['temporal']);
    expect(version(bin)).toMatch(/^temporal version /);
    expect(lines.at(-1)).toContain('downloaded and verified');
  });

  it('refuses a corrupted archive and caches nothing', async () => {
    const dir = path.join(work, 'cache-corrupted');
    await expect(downloadTemporalCli({ url: `${base}/corrupted.tar.gz`, sha256 }, dir, quiet)).rejects.toThrow(/SHA-256 is [0-9a-f]{64}, not the expected .*refused, nothing was cached/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('refuses an archive larger than a CLI can be, before reading it, and an HTTP error', async () => {
    const dir = path.join(work, 'cache-huge');
    await expect(downloadTemporalCli({ url: `${base}/huge.tar.gz`, sha256 }, dir, quiet)).rejects.toThrow(/more than the \d+ expected/);
    await expect(downloadTemporalCli({ url: `${base}/missing.tar.gz`, sha256 }, dir, quiet)).rejects.toThrow(/answered 404/);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('is the step after the cache: a fresh HOME gets the binary from the archive, then from the cache', async () => {
    const saved = { ...process.env };
    try {
      const home = path.join(work, 'home');
      fs.mkdirSync(home);
      // No temporal and no go on PATH: only the download can supply it.
      Object.assign(process.env, { HOME: home, PATH: path.dirname(process.execPath), AP_TEMPORAL_CLI_URL: `${base}/good.tar.gz`, AP_TEMPORAL_CLI_SHA256: sha256 });
      const lines: string[] = [];
      const bin = await findTemporalCli(undefined, (l) => lines.push(l));
      expect(bin).toBe(path.join(home, '.cache', 'agent-platform', 'temporal-1.5.1', 'temporal'));
      expect(lines[0]).toBe(`Temporal CLI: downloading ${base}/good.tar.gz...`);
      expect(version(bin)).toMatch(/^temporal version /);
      const again: string[] = [];
      served.length = 0;
      expect(await findTemporalCli(undefined, (l) => again.push(l))).toBe(bin);
      expect(again).toEqual([`Temporal CLI: using cached ${bin}`]);
      expect(served).toEqual([]);

      // A corrupted archive on a fresh HOME: refused, nothing cached, and the error says why and what else to do.
      const fresh = path.join(work, 'home-2');
      fs.mkdirSync(fresh);
      Object.assign(process.env, { HOME: fresh, AP_TEMPORAL_CLI_URL: `${base}/corrupted.tar.gz` });
      await expect(findTemporalCli(undefined, () => undefined)).rejects.toThrow(/No Temporal CLI found \(the download failed: the archive's SHA-256 .* refused, nothing was cached\).*install Go/);
      expect(fs.existsSync(path.join(fresh, '.cache', 'agent-platform', 'temporal-1.5.1', 'temporal'))).toBe(false);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it('names the official archive and its pinned digest, and wants a digest for a mirror', () => {
    expect(cliArchive('1.5.1', {}, 'linux', 'x64')).toEqual({
      url: 'https://github.com/temporalio/cli/releases/download/v1.5.1/temporal_cli_1.5.1_linux_amd64.tar.gz',
      sha256: 'ddc95e08b0b076efd4ea9733a3f488eb7d2be875f8834e616cd2a37358b4852d',
    });
    expect(cliArchive('1.5.1', {}, 'darwin', 'arm64')?.url).toContain('temporal_cli_1.5.1_darwin_arm64.tar.gz');
    expect(cliArchive('1.5.1', {}, 'win32', 'x64')).toBeUndefined();
    expect(cliArchive('1.5.1', { AP_TEMPORAL_CLI_URL: 'https://mirror.example/t.tar.gz' }, 'linux', 'x64')?.sha256).toBe('ddc95e08b0b076efd4ea9733a3f488eb7d2be875f8834e616cd2a37358b4852d');
    expect(() => cliArchive('1.5.1', { AP_TEMPORAL_CLI_URL: 'https://mirror.example/t.tar.gz' }, 'win32', 'x64')).toThrow(/AP_TEMPORAL_CLI_SHA256/);
    expect(() => cliArchive('1.5.1', { AP_TEMPORAL_CLI_URL: 'https://m.example/t', AP_TEMPORAL_CLI_SHA256: 'abc' }, 'linux', 'x64')).toThrow(/64 hex digits/);
  });
});

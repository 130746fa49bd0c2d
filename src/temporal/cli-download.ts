// The Temporal CLI from its official release archive (issue 19): for a machine with internet and no Go.
// The archive is streamed to a temporary file while its SHA-256 is computed, refused unless that equals
// the digest pinned here (or given with AP_TEMPORAL_CLI_URL's AP_TEMPORAL_CLI_SHA256), and only then is
// its `temporal` binary unpacked and moved into the cache, so a corrupted or altered download leaves
// nothing behind. The read is bounded in size and time.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar';
import { elapsed, type Progress } from '../process/progress';

export interface CliArchive {
  url: string;
  sha256: string;
}

/**
 * SHA-256 of the v1.5.1 release archives (github.com/temporalio/cli/releases/tag/v1.5.1, as recorded in
 * cashapp/hermit-packages' temporal-cli.hcl). Pinned, not read from the release's checksums file: a file
 * served beside the archive would vouch for whatever is served.
 */
const V1_5_1_SHA256: Readonly<Record<string, string>> = {
  linux_amd64: 'ddc95e08b0b076efd4ea9733a3f488eb7d2be875f8834e616cd2a37358b4852d',
  linux_arm64: 'bd1b0db9f18b051026de8bf6cc1505f2510f14bbb7a8b9a4a91fff46c77454f5',
  darwin_amd64: 'bbb73e2a31135abe50a1f1cdb35030c42961df618e8ce9c60ae89f201540c5d9',
  darwin_arm64: 'cca01b7ea35ad56e2a328d9ae596bf716bd22313ef63c7a761c88354457c2415',
};

const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', arm64: 'arm64' };
/** The archive holds one binary of some 60 MB; anything past this is not it. */
const MAX_ARCHIVE_BYTES = 256 * 1024 * 1024;
/** A download that delivers nothing for this long is given up. */
const STALL_MS = 30_000;

/**
 * The archive to download for this machine: AP_TEMPORAL_CLI_URL (a mirror; its digest is
 * AP_TEMPORAL_CLI_SHA256, or the pinned one when the mirror serves the official file), else the official
 * release for this platform; undefined where there is none (Windows, other CPUs).
 */
export function cliArchive(version: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform, arch = process.arch): CliArchive | undefined {
  const target = `${platform}_${GO_ARCH[arch] ?? arch}`;
  const pinned = version === '1.5.1' ? V1_5_1_SHA256[target] : undefined;
  if (env.AP_TEMPORAL_CLI_URL) {
    const sha256 = env.AP_TEMPORAL_CLI_SHA256?.toLowerCase() ?? pinned;
    if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) throw new Error('AP_TEMPORAL_CLI_URL needs AP_TEMPORAL_CLI_SHA256 (the archive\'s SHA-256, 64 hex digits)');
    return { url: env.AP_TEMPORAL_CLI_URL, sha256 };
  }
  if (!pinned) return undefined;
  return { url: `https://github.com/temporalio/cli/releases/download/v${version}/temporal_cli_${version}_${target}.tar.gz`, sha256: pinned };
}

/**
 * Downloads the archive, checks it, and puts its `temporal` binary at `<dir>/temporal`. Throws (and
 * leaves `dir` as it was) on a network error, an HTTP error, a stall, an oversized body, a digest that
 * does not match, or an archive without the binary.
 */
export async function downloadTemporalCli(archive: CliArchive, dir: string, progress: Progress): Promise<string> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ap-temporal-cli-'));
  try {
    const file = path.join(work, 'archive.tar.gz');
    const stall = new AbortController();
    let timer = setTimeout(() => stall.abort(), STALL_MS);
    const res = await fetch(archive.url, { signal: stall.signal, redirect: 'follow' });
    if (!res.ok || !res.body) throw new Error(`GET ${archive.url} answered ${res.status}`);
    const total = Number(res.headers.get('content-length')) || undefined;
    if (total && total > MAX_ARCHIVE_BYTES) throw new Error(`the archive is ${total} bytes, more than the ${MAX_ARCHIVE_BYTES} expected`);
    const hash = crypto.createHash('sha256');
    let received = 0;
    const started = Date.now();
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      hash.update(chunk);
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(), STALL_MS);
      if (received > MAX_ARCHIVE_BYTES) body.destroy(new Error(`the archive is larger than the ${MAX_ARCHIVE_BYTES} bytes expected`));
      progress.update(`Temporal CLI: downloading: ${mib(received)}${total ? ` of ${mib(total)}` : ''}, ${elapsed(Date.now() - started)} so far`);
    });
    try {
      await pipeline(body, fs.createWriteStream(file));
    } finally {
      clearTimeout(timer);
    }
    const digest = hash.digest('hex');
    if (digest !== archive.sha256) {
      throw new Error(`the archive's SHA-256 is ${digest}, not the expected ${archive.sha256}: refused, nothing was cached`);
    }
    const unpacked = path.join(work, 'unpacked');
    fs.mkdirSync(unpacked);
    // Only the binary, at the archive's top level (node-tar also refuses absolute and `..` paths).
    await extract({ file, cwd: unpacked, filter: (p) => p.replace(/^\.\//, '') === 'temporal' });
    const binary = path.join(unpacked, 'temporal');
    if (!fs.existsSync(binary) || !fs.statSync(binary).isFile()) throw new Error('the archive holds no `temporal` binary');
    fs.chmodSync(binary, 0o755);
    fs.mkdirSync(dir, { recursive: true });
    const target = path.join(dir, 'temporal');
    // Copied next to its place, then renamed: a concurrent start never sees half a binary.
    const staged = `${target}.${process.pid}.partial`;
    fs.copyFileSync(binary, staged);
    fs.chmodSync(staged, 0o755);
    fs.renameSync(staged, target);
    progress.done(`Temporal CLI: downloaded and verified (SHA-256 ${digest.slice(0, 12)}…) in ${elapsed(Date.now() - started)} into ${dir}`);
    return target;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

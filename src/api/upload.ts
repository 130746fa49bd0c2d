// Upload bodies are read to their end, against a deadline and a size bound, before a service takes a
// database connection: a client that trickles its body then holds a slot of its own key (a few per key,
// 429 past them) and a temporary file, never a pooled connection or an open transaction.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Request } from 'express';
import { PlatformError } from '../domain/errors';
import type { Principal } from '../domain/workspace';
import type { ServiceDeps } from '../services/deps';
import { KeySlots } from '../services/limits';
import { boundaryOf } from './multipart';

/** Bodies up to this size stay in memory; a larger one goes to a temporary file. */
const MEMORY_BYTES = 1024 * 1024;
/** Room for a form's boundaries, part headers and small fields around its files. */
export const FORM_OVERHEAD_BYTES = 256 * 1024;

/** A body read to its end: its chunks can be read (once) from memory or its temporary file. */
export interface SpooledBody {
  bytes: number;
  chunks(): AsyncIterable<Buffer>;
  dispose(): Promise<void>;
}

// One set of slots per app (files and skills share it), without a module-level singleton.
const slotsByDeps = new WeakMap<ServiceDeps, KeySlots>();
function slotsOf(deps: ServiceDeps): KeySlots {
  let slots = slotsByDeps.get(deps);
  if (!slots) slotsByDeps.set(deps, (slots = new KeySlots(deps.config.uploads.perKey, (n) => `This API key already has ${n} uploads in progress; retry when one has finished`)));
  return slots;
}

/**
 * Takes an upload slot of the caller's key, reads the whole multipart body (at most `maxBytes`, within
 * the configured deadline), then hands its chunks to `use`; the slot and the spooled body are released after.
 */
export async function withUploadBody<T>(deps: ServiceDeps, req: Request, p: Principal, maxBytes: number, use: (body: AsyncIterable<Buffer>) => Promise<T>): Promise<T> {
  const release = slotsOf(deps).acquire(p.key_id);
  try {
    boundaryOf(req.headers['content-type']); // 415 before reading anything
    const body = await spoolBody(req, maxBytes, deps.config.uploads.bodyTimeoutMs);
    try {
      return await use(body.chunks());
    } finally {
      await body.dispose();
    }
  } finally {
    release();
  }
}

const tooLarge = (maxBytes: number): PlatformError => new PlatformError('payload_too_large', `The upload exceeds ${maxBytes} bytes`, 'file');

/** Reads `req` to its end into memory, spilling to a temporary file past MEMORY_BYTES. */
export function spoolBody(req: Request, maxBytes: number, timeoutMs: number): Promise<SpooledBody> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise<SpooledBody>((resolve, reject) => {
    const memory: Buffer[] = [];
    let bytes = 0;
    let file: { dir: string; path: string; fh: fsp.FileHandle } | undefined;
    let writes: Promise<unknown> = Promise.resolve();
    let settled = false;

    const dispose = async (): Promise<void> => {
      if (!file) return;
      const f = file;
      file = undefined;
      await f.fh.close().catch(() => undefined);
      await fsp.rm(f.dir, { recursive: true, force: true });
    };
    const finish = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      if (err) {
        // The rest of the body is left to the error handler, which reads on before answering.
        req.pause();
        void writes.then(dispose, dispose).finally(() => reject(err));
        return;
      }
      const spooled = file;
      resolve({
        bytes,
        chunks: () => (spooled ? (fs.createReadStream(spooled.path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) : Readable.from(memory, { objectMode: true })),
        dispose,
      });
    };
    // Writes go one after another; the request is paused while one is pending (backpressure).
    const write = (fn: () => Promise<unknown>): void => {
      req.pause();
      writes = writes.then(fn).then(
        () => !settled && req.resume(),
        (err: unknown) => finish(err),
      );
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > maxBytes) return finish(tooLarge(maxBytes));
      if (file) {
        const fh = file.fh;
        return write(() => fh.write(chunk));
      }
      memory.push(chunk);
      if (bytes <= MEMORY_BYTES) return;
      write(async () => {
        const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ap-upload-'));
        const target = path.join(dir, 'body');
        file = { dir, path: target, fh: await fsp.open(target, 'wx', 0o600) };
        for (const b of memory.splice(0)) await file.fh.write(b);
      });
    };
    const onEnd = (): void => {
      void writes.then(async () => {
        if (settled) return;
        await file?.fh.close(); // dispose closes it again, harmlessly
        finish(undefined);
      }, finish);
    };
    const onClose = (): void => {
      if (!req.complete) finish(new PlatformError('validation_failed', 'The request body ended before it was complete'));
    };
    const timer = setTimeout(
      () => finish(new PlatformError('request_timeout', `The upload's body did not arrive within ${Math.round(timeoutMs / 1000)} s`)),
      timeoutMs,
    );
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.resume();
  });
}

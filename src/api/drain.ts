// A request refused before its body was read to the end (a 413 upload, a form that fails validation on
// its first part, a 401 on an upload) is read on to its end before the answer goes out. Otherwise
// the answer is followed by closing the socket while the client is still sending, and the client sees
// EPIPE or a reset instead of the error. Reading on is bounded: past DRAIN_MAX_BYTES more bytes, or
// DRAIN_MAX_MS, the answer goes out with `Connection: close` and the connection ends.
import type { Request, Response } from 'express';

export const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
export const DRAIN_MAX_MS = 15_000;

/** Resolves once the rest of the body is read (true) or the bound is hit (false, Connection: close set). */
export function drainBody(req: Request, res: Response, limits = { bytes: DRAIN_MAX_BYTES, ms: DRAIN_MAX_MS }): Promise<boolean> {
  if (req.complete || req.readableEnded || req.destroyed) return Promise.resolve(true);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.bytes) return Promise.resolve(giveUp(req, res));
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (drained: boolean): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      resolve(drained || giveUp(req, res));
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > limits.bytes) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onClose = (): void => finish(req.complete);
    const timer = setTimeout(() => finish(false), limits.ms);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.resume();
  });
}

function giveUp(req: Request, res: Response): false {
  if (!res.headersSent) res.setHeader('Connection', 'close');
  // Keep discarding what still arrives until the answer is out and the socket ends.
  req.resume();
  return false;
}

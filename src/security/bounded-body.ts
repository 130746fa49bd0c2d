// Bounded reads of what tenant-controlled endpoints answer (tools, webhook receivers, model providers,
// embeddings, OAuth token endpoints): bytes are counted while they arrive and the read is aborted past
// the limit, so that an endless or huge body costs the worker or the API at most `limit` bytes.
import type { Response } from 'undici';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The limits, by what is read; one place so that the documentation and the tests name the same numbers. */
export const BODY_LIMITS = {
  /** An http tool's answer (what the model reads back). */
  tool: 1 * MiB,
  /** An OAuth token endpoint's answer. */
  token: 1 * MiB,
  /** An embeddings answer (a 3072-dimension vector is ~70 KiB of JSON). */
  embedding: 4 * MiB,
  /** A webhook receiver's answer: only its status matters, the rest is drained up to this and dropped. */
  webhookAnswer: 64 * KiB,
  /** A provider's error body (a short excerpt of it ends up in the error message). */
  errorBody: 64 * KiB,
  /** One line, and one event, of a provider's event stream. */
  sseLine: 1 * MiB,
  /** Every byte of one model call's stream: an endless stream of keep-alives ends here. */
  stream: 64 * MiB,
  /** What one model call may produce: its text and tool-call arguments together. */
  modelOutput: 4 * MiB,
} as const;

export class BodyTooLargeError extends Error {
  readonly code = 'response_too_large';
  constructor(readonly limit: number) {
    super(`the answer is larger than ${describeBytes(limit)}`);
  }
}

export const describeBytes = (n: number): string => (n >= MiB && n % MiB === 0 ? `${n / MiB} MiB` : n >= KiB && n % KiB === 0 ? `${n / KiB} KiB` : `${n} bytes`);

/**
 * The chunks of a stream, passed through while their total stays within `limit`; past it the source is
 * canceled (the connection closed) and BodyTooLargeError thrown.
 */
export async function* limitBytes(body: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    // Leaving the for-await early (the throw) calls the stream's return(), which cancels it.
    if (total > limit) throw new BodyTooLargeError(limit);
    yield chunk;
  }
}

/** The whole body, at most `limit` bytes; a larger one (announced or actual) is BodyTooLargeError. */
export async function readBounded(res: Response, limit: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const announced = Number(res.headers.get('content-length'));
  if (Number.isFinite(announced) && announced > limit) {
    await res.body.cancel().catch(() => undefined);
    throw new BodyTooLargeError(limit);
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of limitBytes(res.body, limit)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export const readBoundedText = async (res: Response, limit: number): Promise<string> => (await readBounded(res, limit)).toString('utf8');

/**
 * Reads and drops up to `limit` bytes (so that a small answer leaves the connection reusable), then
 * closes whatever is left. Never throws: for callers that need only the status.
 */
export async function discardBody(res: Response, limit: number): Promise<void> {
  if (!res.body) return;
  try {
    for await (const chunk of limitBytes(res.body, limit)) void chunk;
  } catch {
    await res.body.cancel().catch(() => undefined);
  }
}

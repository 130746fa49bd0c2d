// The payload codec: every payload Temporal stores (prompts, model output, tool arguments and results,
// failure messages) is encrypted with AES-256-GCM under a key derived from AP_MASTER_KEY. The key id
// travels in the payload metadata, and previous keys still decrypt, so keys can rotate.
// It fails closed: a payload that is not `binary/encrypted` (a signal sent from the Web UI or any other
// client without the key) reaches no workflow or activity. It is not thrown at either: an error would
// fail every retry of the workflow task and freeze the run; it decodes as `undefined` (`binary/null`),
// which every signal handler ignores. Only `ap replay` of decoded exports reads plaintext (`lenient`).
import crypto from 'node:crypto';
import path from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { keyId } from '../security/secrets';

export const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
/** Marks a payload the strict codec refused; it keeps the original encoding and bytes for auditors. */
export const REJECTED_ENCODING = 'rejected-encoding';
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (b: Uint8Array | null | undefined): string => (b ? new TextDecoder().decode(b) : '');

export const isEncrypted = (p: Payload): boolean => decode(p.metadata?.encoding) === ENCODING;

const NULL_ENCODING = 'binary/null';

/**
 * What the workflow sees instead of a refused payload: `undefined` (`binary/null`, whose data no converter
 * reads); the history export shows what was sent. The marker alone proves nothing (any sender can set it):
 * only a payload that already decodes as `undefined` is kept as it is.
 */
export function rejectedPayload(p: Payload): Payload {
  if (p.metadata?.[REJECTED_ENCODING] && decode(p.metadata.encoding) === NULL_ENCODING) return p;
  return { metadata: { encoding: encode(NULL_ENCODING), [REJECTED_ENCODING]: p.metadata?.encoding ?? encode('') }, data: p.data ?? new Uint8Array() };
}

export interface CodecOptions {
  /** Pass unencrypted payloads through unchanged: only for replaying decoded history exports. */
  lenient?: boolean;
  /** Told about each refused payload (its encoding), for the log. */
  onRejected?: (encoding: string) => void;
}

export class EncryptionCodec implements PayloadCodec {
  private readonly keys = new Map<string, Buffer>();
  private readonly currentId: string;

  /** masterKeys[0] encrypts; all of them decrypt. */
  constructor(
    masterKeys: Buffer[],
    private readonly options: CodecOptions = {},
  ) {
    for (const mk of masterKeys) {
      this.keys.set(keyId(mk), Buffer.from(crypto.hkdfSync('sha256', mk, Buffer.alloc(0), 'agent-platform:payloads:v1', 32)));
    }
    this.currentId = keyId(masterKeys[0]!);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', this.keys.get(this.currentId)!, iv);
      const body = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: encode(ENCODING), [KEY_ID]: encode(this.currentId) }, data: new Uint8Array(body) };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (!isEncrypted(p)) {
        if (this.options.lenient) return p;
        this.options.onRejected?.(decode(p.metadata?.encoding));
        return rejectedPayload(p);
      }
      const kid = decode(p.metadata?.[KEY_ID]);
      const key = this.keys.get(kid);
      if (!key) throw new Error(`No key ${kid} to decrypt a payload: add the old AP_MASTER_KEY to AP_PREVIOUS_MASTER_KEYS`);
      const data = Buffer.from(p.data ?? new Uint8Array());
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** Every client and worker uses this: the (strict) codec, and a failure converter that encodes messages and stacks. */
export function dataConverter(masterKeys: Buffer[], options: CodecOptions = {}): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(masterKeys, options)],
    failureConverterPath: path.resolve(__dirname, 'failure-converter.ts'),
  };
}

function isPayload(v: unknown): v is Payload {
  return !!v && typeof v === 'object' && (v as Payload).data instanceof Uint8Array && typeof (v as Payload).metadata === 'object';
}

/**
 * Decrypts every encrypted payload inside a fetched history (or any proto object) in place, for auditors;
 * the rest stays as stored (search attributes, headers and markers are plaintext by design). A plaintext
 * signal input is marked as refused (`rejectedPayload`), as the worker saw it, so that the export replays
 * as the run went; `markRefusedSignals: false` for histories that are already decoded.
 */
export async function decodeAllPayloads<T>(value: T, codec: PayloadCodec, opts: { markRefusedSignals?: boolean } = {}): Promise<T> {
  const mark = opts.markRefusedSignals ?? true;
  const one = async (p: Payload, inSignal: boolean): Promise<Payload> => {
    if (isEncrypted(p)) return (await codec.decode([p]))[0]!;
    return inSignal && mark ? rejectedPayload(p) : p;
  };
  const walk = async (v: unknown, inSignal: boolean): Promise<void> => {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (isPayload(v[i])) v[i] = await one(v[i] as Payload, inSignal);
        else await walk(v[i], inSignal);
      }
    } else if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        const signal = k !== 'header' && (inSignal || k === 'workflowExecutionSignaledEventAttributes');
        if (isPayload(child)) (v as Record<string, unknown>)[k] = await one(child, signal);
        else await walk(child, signal);
      }
    }
  };
  await walk(value, false);
  return value;
}

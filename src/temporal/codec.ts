// The payload codec: every payload Temporal stores (prompts, model output, tool arguments and results,
// failure messages) is encrypted with AES-256-GCM under a key derived from AP_MASTER_KEY. The key id
// travels in the payload metadata, and previous keys still decrypt, so keys can rotate.
import crypto from 'node:crypto';
import path from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { keyId } from '../security/secrets';

export const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (b: Uint8Array | null | undefined): string => (b ? new TextDecoder().decode(b) : '');

export class EncryptionCodec implements PayloadCodec {
  private readonly keys = new Map<string, Buffer>();
  private readonly currentId: string;

  /** masterKeys[0] encrypts; all of them decrypt. */
  constructor(masterKeys: Buffer[]) {
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
      if (decode(p.metadata?.encoding) !== ENCODING) return p;
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

/** Every client and worker uses this: the codec, and a failure converter that encodes messages and stacks. */
export function dataConverter(masterKeys: Buffer[]): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(masterKeys)],
    failureConverterPath: path.resolve(__dirname, 'failure-converter.ts'),
  };
}

function isPayload(v: unknown): v is Payload {
  return !!v && typeof v === 'object' && (v as Payload).data instanceof Uint8Array && typeof (v as Payload).metadata === 'object';
}

/** Decodes every payload inside a fetched history (or any proto object) in place: for auditors and the codec endpoint. */
export async function decodeAllPayloads<T>(value: T, codec: PayloadCodec): Promise<T> {
  const walk = async (v: unknown): Promise<void> => {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (isPayload(v[i])) v[i] = (await codec.decode([v[i] as Payload]))[0];
        else await walk(v[i]);
      }
    } else if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        if (isPayload(child)) (v as Record<string, unknown>)[k] = (await codec.decode([child]))[0];
        else await walk(child);
      }
    }
  };
  await walk(value);
  return value;
}

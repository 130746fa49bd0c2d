// Encryption at rest: AES-256-GCM under a key derived from AP_MASTER_KEY. Ciphertexts carry a key id
// so that a later rotation can keep several keys for decryption.
import crypto from 'node:crypto';

export interface SecretBox {
  encrypt(plaintext: string): string;
  decrypt(ciphertext: string): string;
}

const VERSION = 'v1';

export function keyId(masterKey: Buffer): string {
  return crypto.createHash('sha256').update(masterKey).digest('hex').slice(0, 8);
}

export function createSecretBox(masterKeys: Buffer[]): SecretBox {
  if (masterKeys.length === 0) throw new Error('createSecretBox needs at least one key');
  const keys = new Map<string, Buffer>();
  for (const mk of masterKeys) {
    keys.set(keyId(mk), Buffer.from(crypto.hkdfSync('sha256', mk, Buffer.alloc(0), 'agent-platform:secrets:v1', 32)));
  }
  const [currentId] = keys.keys() as unknown as [string];
  return {
    encrypt(plaintext) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', keys.get(currentId)!, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, currentId, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
    },
    decrypt(ciphertext) {
      const [version, kid, iv, tag, body] = ciphertext.split(':');
      const key = kid ? keys.get(kid) : undefined;
      if (version !== VERSION || !key || !iv || !tag || body === undefined) {
        throw new Error('Cannot decrypt a secret: unknown format or key id');
      }
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    },
  };
}

/** `…abcd`: enough to recognise a key, too little to use it. */
export const preview = (secret: string): string => `…${secret.slice(-4)}`;

export function newApiKey(): string {
  return `ap_${crypto.randomBytes(24).toString('base64url')}`;
}

/** API keys are 192-bit random strings, so a plain SHA-256 is a sufficient one-way hash. */
export const hashApiKey = (key: string): string => crypto.createHash('sha256').update(key).digest('hex');

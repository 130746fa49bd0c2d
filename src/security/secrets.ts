// Encryption at rest: AES-256-GCM under a key derived from AP_MASTER_KEY. Ciphertexts carry a key id
// so that a later rotation can keep several keys for decryption, and (from v2) are bound to the cell
// they are stored in: the additional authenticated data is `workspace:table:column:row`, so a ciphertext
// copied into another row, column or workspace fails authentication instead of decrypting there.
import crypto from 'node:crypto';

/** Where a ciphertext lives. `row` is the row's key (several parts for a composite key). */
export interface SecretContext {
  workspace: string;
  table: string;
  column: string;
  row: string | readonly string[];
}

export interface SecretBox {
  encrypt(plaintext: string, context: SecretContext): string;
  /** Refuses v1 (unbound) ciphertexts: `ap migrate` re-encrypts them before anything serves. */
  decrypt(ciphertext: string, context: SecretContext): string;
  /** Only for the migrator: reads a v1 ciphertext, which carries no context. */
  decryptLegacy(ciphertext: string): string;
  /** The audit chain's HMAC keys, derived from the same master keys under their own info string. */
  audit: KeyedMac;
}

export interface KeyedMac {
  /** The id of the key new MACs are made with. */
  currentId: string;
  /** HMAC-SHA256 of data under key `kid` (default: the current one), hex; undefined for an unknown key id. */
  mac(data: string, kid?: string): string | undefined;
}

/** A stored secret that cannot be read here; its message never holds any part of the plaintext. */
export class SecretError extends Error {
  override name = 'SecretError';
}

const LEGACY = 'v1';
const VERSION = 'v2';

export function keyId(masterKey: Buffer): string {
  return crypto.createHash('sha256').update(masterKey).digest('hex').slice(0, 8);
}

const derive = (mk: Buffer, info: string): Buffer => Buffer.from(crypto.hkdfSync('sha256', mk, Buffer.alloc(0), info, 32));

/** Each part is URI-encoded, so no choice of ids (which may hold `:` or `/`) makes two contexts collide. */
export function contextAad(c: SecretContext): Buffer {
  const row = (typeof c.row === 'string' ? [c.row] : c.row).map(encodeURIComponent).join('/');
  return Buffer.from([c.workspace, c.table, c.column].map(encodeURIComponent).concat(row).join(':'), 'utf8');
}

export const isLegacyCiphertext = (ciphertext: string): boolean => ciphertext.startsWith(`${LEGACY}:`);

export function createSecretBox(masterKeys: Buffer[]): SecretBox {
  if (masterKeys.length === 0) throw new Error('createSecretBox needs at least one key');
  const keys = new Map<string, Buffer>();
  const macKeys = new Map<string, Buffer>();
  for (const mk of masterKeys) {
    keys.set(keyId(mk), derive(mk, 'agent-platform:secrets:v1'));
    macKeys.set(keyId(mk), derive(mk, 'agent-platform:audit-chain:v1'));
  }
  const [currentId] = keys.keys() as unknown as [string];

  function open(ciphertext: string, expected: string, aad: Buffer | undefined, where: string): string {
    const [version, kid, iv, tag, body, ...extra] = ciphertext.split(':');
    if (version === LEGACY && expected !== LEGACY) {
      throw new SecretError(`${where} is still in the v1 format, which is not bound to its row: run \`ap migrate\``);
    }
    const key = kid ? keys.get(kid) : undefined;
    if (version !== expected || !key || !iv || !tag || body === undefined || extra.length) {
      throw new SecretError(`${where} cannot be decrypted: unknown format or key id (is AP_MASTER_KEY, or AP_PREVIOUS_MASTER_KEYS, the one it was written with?)`);
    }
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      if (aad) decipher.setAAD(aad);
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretError(`${where} does not belong to this row: it was encrypted for another row, column or workspace, or altered`);
    }
  }

  return {
    encrypt(plaintext, context) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', keys.get(currentId)!, iv);
      cipher.setAAD(contextAad(context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, currentId, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
    },
    decrypt(ciphertext, context) {
      return open(ciphertext, VERSION, contextAad(context), `The stored ${context.table}.${context.column}`);
    },
    decryptLegacy(ciphertext) {
      return open(ciphertext, LEGACY, undefined, 'A v1 secret');
    },
    audit: {
      currentId,
      mac(data, kid = currentId) {
        const key = macKeys.get(kid);
        return key ? crypto.createHmac('sha256', key).update(data).digest('hex') : undefined;
      },
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

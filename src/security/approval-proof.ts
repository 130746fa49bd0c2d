// Proof that the API recorded an approval decision: an HMAC-SHA256, under a key derived (HKDF) from
// AP_MASTER_KEY, over what was decided. The API signs the decision it signals; the worker's verification
// activity checks it before the workflow accepts the decision (workflows/approvals-step.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { decisionProofMessage, type ApprovalDecision } from '../domain/approval';
import { canonicalJson } from '../domain/policy';

type KeyConfig = Pick<Config, 'masterKey' | 'previousMasterKeys' | 'dataDir'>;

const derived = new WeakMap<KeyConfig, Buffer[]>();

/**
 * The current key first, then those of AP_PREVIOUS_MASTER_KEYS (they still verify during a rotation).
 * Without AP_MASTER_KEY the development key file that `ap start` created in AP_DATA_DIR is used.
 */
function proofKeys(config: KeyConfig): Buffer[] {
  let keys = derived.get(config);
  if (!keys) {
    const current = config.masterKey ?? fs.readFileSync(path.join(config.dataDir, 'master.key'), 'utf8').trim();
    keys = [current, ...config.previousMasterKeys].map((k) => Buffer.from(crypto.hkdfSync('sha256', Buffer.from(k, 'base64'), Buffer.alloc(0), 'agent-platform:approval-proof:v1', 32)));
    derived.set(config, keys);
  }
  return keys;
}

const argumentsHash = (d: ApprovalDecision): string =>
  d.decision === 'approve' && d.arguments ? crypto.createHash('sha256').update(canonicalJson(d.arguments)).digest('hex') : 'null';

const mac = (key: Buffer, workflowId: string, d: ApprovalDecision): Buffer =>
  crypto.createHmac('sha256', key).update(decisionProofMessage(workflowId, d, argumentsHash(d))).digest();

/** The proof the API attaches to the decision it signals to the workflow `workflowId`. */
export function signDecision(config: KeyConfig, workflowId: string, d: ApprovalDecision): string {
  return mac(proofKeys(config)[0]!, workflowId, d).toString('base64url');
}

/** Whether `d.proof` is the API's proof of exactly this decision for this workflow. */
export function verifyDecision(config: KeyConfig, workflowId: string, d: ApprovalDecision): boolean {
  if (typeof d.proof !== 'string') return false;
  const given = Buffer.from(d.proof, 'base64url');
  return proofKeys(config).some((k) => {
    const want = mac(k, workflowId, d);
    return given.length === want.length && crypto.timingSafeEqual(given, want);
  });
}
